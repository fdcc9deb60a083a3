ALTER TABLE customers DROP COLUMN email, DROP COLUMN balance;
