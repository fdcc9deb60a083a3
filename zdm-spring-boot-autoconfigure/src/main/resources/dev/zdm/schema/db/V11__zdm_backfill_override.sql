-- Live tuning of a migration's backfill: the settings an operator changed through the endpoint, each NULL while
-- the declared value applies, with who changed them last, from which instance, when and why. Every instance reads
-- the row at each heartbeat, so a change applies fleet-wide and outlives the runner. cleared_declaration is the
-- fingerprint of the last declaration with clear-overrides=true that cleared them: a declaration clears them once,
-- not at each restart of each instance.

CREATE TABLE zdm_backfill_override (
    migration_id          text        PRIMARY KEY REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    initial_batch_size    integer,
    min_batch_size        integer,
    max_batch_size        integer,
    target_batch_duration interval,
    pause                 interval,
    max_rows_per_second   bigint,
    max_latency_increase  double precision,    -- a fraction: 0.2 for 20%
    max_lock_waiters      integer,
    max_transaction_age   interval,
    max_replication_lag   interval,
    set_by                text,                -- the principal of the last change or clear
    set_on                text,                -- the instance whose endpoint was called
    set_at                timestamptz,
    reason                text,
    cleared_declaration   text
);

-- The DDL history also records, with each statement, the unsafe operations a "-- zdm:allow <code>: <reason>" comment
-- allowed for it and why, such as "add-column-volatile-default: the table has 40 rows".
ALTER TABLE zdm_ddl_statement ADD COLUMN allowed text;
