-- An abandoned migration (phase: abandon): when the abandon was claimed, by which instance and why. Set once, when
-- every live instance requests abandon and routes to the old side only; from then on no instance runs the migration
-- past expand, and one that requests another phase is refused at start-up. The row stays, with the DDL history and
-- the operator actions that reference it; the backfill, its verifications and the final check are deleted.

ALTER TABLE zdm_migration
    ADD COLUMN abandoned_at   timestamptz,
    ADD COLUMN abandoned_by   text,
    ADD COLUMN abandon_reason text;
