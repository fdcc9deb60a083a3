CREATE TABLE IF NOT EXISTS products (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL,
    price numeric(12,2)
);
