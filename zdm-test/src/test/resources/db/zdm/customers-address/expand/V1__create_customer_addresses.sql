CREATE TABLE customer_addresses (
    customer_id bigint PRIMARY KEY,
    street      text,
    city        text
);
