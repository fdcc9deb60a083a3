CREATE TABLE product_suppliers (
    product_id    bigint PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    supplier_name text
);
