-- The customer's address, in the customers table: the customers-address migration moves it to customer_addresses.
ALTER TABLE customers ADD COLUMN address_street text, ADD COLUMN address_city text;
