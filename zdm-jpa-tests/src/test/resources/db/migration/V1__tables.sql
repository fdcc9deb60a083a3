-- The service's tables before the migrations. Sequences step by 50 so that Hibernate's pooled ids batch inserts.
CREATE SEQUENCE customers_id_seq INCREMENT BY 50;
CREATE TABLE customers (
    id      bigint PRIMARY KEY DEFAULT nextval('customers_id_seq'),
    name    text          NOT NULL,
    email   text          NOT NULL,
    balance numeric(12,2) NOT NULL,
    version bigint        NOT NULL DEFAULT 0
);

CREATE SEQUENCE members_id_seq INCREMENT BY 50;
CREATE TABLE members (
    id     bigint PRIMARY KEY DEFAULT nextval('members_id_seq'),
    name   text    NOT NULL,
    email  text    NOT NULL,
    points integer NOT NULL
);

CREATE SEQUENCE shops_id_seq INCREMENT BY 50;
CREATE TABLE shops (
    id      bigint PRIMARY KEY DEFAULT nextval('shops_id_seq'),
    name    text   NOT NULL,
    street  text,
    city    text,
    version bigint NOT NULL DEFAULT 0
);
