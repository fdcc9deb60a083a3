-- Whether PostgreSQL skipped what a statement creates because it existed already (the notice of an IF NOT EXISTS):
-- true if it did, false if it ran and skipped nothing, NULL if not known (recorded before this column, or applied
-- without running, as a concurrent index found built after an interruption). An abandon drops what an IF NOT EXISTS
-- created, leaves what it skipped, and refuses where it cannot tell.

ALTER TABLE zdm_ddl_statement ADD COLUMN skipped_existing boolean;
