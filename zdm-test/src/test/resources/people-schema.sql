CREATE TABLE IF NOT EXISTS people (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL,
    email text NOT NULL
);
