-- The progress of a verification in flight, checkpointed with each verification batch so that a runner that takes
-- over resumes the pass where the previous one stopped. verify_pass is NULL when no verification is in flight.

ALTER TABLE zdm_backfill
    ADD COLUMN verify_pass             integer,
    ADD COLUMN verify_started_at       timestamptz,
    ADD COLUMN verify_upper_bound      text,
    ADD COLUMN verify_last_key         text,
    ADD COLUMN verify_rows_checked     bigint NOT NULL DEFAULT 0,
    ADD COLUMN verify_rows_to_check    bigint,
    ADD COLUMN verify_rows_disagreeing bigint NOT NULL DEFAULT 0,
    ADD COLUMN verify_rows_repaired    bigint NOT NULL DEFAULT 0,
    ADD COLUMN verify_rate             double precision,
    ADD COLUMN verify_eta_seconds      double precision;
