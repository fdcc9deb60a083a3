ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS email_address text;
