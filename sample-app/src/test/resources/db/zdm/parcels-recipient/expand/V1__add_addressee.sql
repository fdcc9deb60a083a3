ALTER TABLE parcels ADD COLUMN addressee text;
