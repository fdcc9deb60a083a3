ALTER TABLE parcels DROP COLUMN recipient;
