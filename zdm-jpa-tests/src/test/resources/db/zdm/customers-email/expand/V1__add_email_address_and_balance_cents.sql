-- Nullable, no default: a brief lock, no rewrite. The sync trigger fills them.
ALTER TABLE customers ADD COLUMN email_address text, ADD COLUMN balance_cents bigint;
