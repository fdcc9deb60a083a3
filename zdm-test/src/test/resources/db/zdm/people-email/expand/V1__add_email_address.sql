ALTER TABLE people ADD COLUMN email_address text;
