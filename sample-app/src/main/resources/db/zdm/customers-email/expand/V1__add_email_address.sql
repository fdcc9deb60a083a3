-- Nullable, no default: adding it takes a brief lock and rewrites nothing.
ALTER TABLE customers ADD COLUMN email_address text;
