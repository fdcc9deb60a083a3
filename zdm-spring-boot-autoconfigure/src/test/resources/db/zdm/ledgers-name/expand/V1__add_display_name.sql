ALTER TABLE ledgers ADD COLUMN display_name text;
