-- A product service before its two migrations: the price moves to cents in the same table, the supplier to a table
-- of its own.
CREATE SEQUENCE products_id_seq INCREMENT BY 50;
CREATE TABLE products (
    id            bigint PRIMARY KEY DEFAULT nextval('products_id_seq'),
    name          text          NOT NULL,
    price         numeric(12,2) NOT NULL,
    supplier_name text,
    version       bigint        NOT NULL DEFAULT 0
);
