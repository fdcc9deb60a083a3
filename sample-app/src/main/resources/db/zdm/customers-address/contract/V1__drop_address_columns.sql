ALTER TABLE customers DROP COLUMN address_street, DROP COLUMN address_city;
