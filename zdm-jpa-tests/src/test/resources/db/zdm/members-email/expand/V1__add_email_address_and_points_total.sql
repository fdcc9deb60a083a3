ALTER TABLE members ADD COLUMN email_address text, ADD COLUMN points_total bigint;
