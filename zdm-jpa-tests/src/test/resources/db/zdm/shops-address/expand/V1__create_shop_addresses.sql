-- A new table: its foreign key is checked against an empty table, and deleting a shop deletes its address.
CREATE TABLE shop_addresses (
    shop_id bigint PRIMARY KEY REFERENCES shops (id) ON DELETE CASCADE,
    street  text,
    city    text
);
