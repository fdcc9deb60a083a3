CREATE INDEX subscribers_email ON subscribers (email);
