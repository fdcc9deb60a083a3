-- A new, empty table: creating it blocks nothing. The foreign key takes a brief lock on customers and validates
-- instantly on an empty table; deleting a customer deletes its address.
CREATE TABLE customer_addresses (
    customer_id bigint PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    street      text,
    city        text
);
