-- When an instance of the fleet first ran read-new (read the new side): before that, a migration kept in sync by the
-- application's own statements (sync: application) has its backfill verified again when an instance first asks for
-- read-new, so that rows a writer outside the application wrote on the old side alone since the verification are
-- repaired before anyone reads the new side. NULL until then (and for a fleet that reached read-new before this column).

ALTER TABLE zdm_migration ADD COLUMN read_new_at timestamptz;
