CREATE TABLE IF NOT EXISTS customers (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL,
    address_street text,
    address_city   text
);
