ALTER TABLE people ADD COLUMN email_address text;
CREATE INDEX people_email_address ON people (email_address);
