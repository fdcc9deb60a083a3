-- The backfill's progress and verification results, readable by every instance.

CREATE TABLE zdm_backfill (
    migration_id      text        PRIMARY KEY REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    state             text        NOT NULL DEFAULT 'pending',
    paused            boolean     NOT NULL DEFAULT false,
    verify_requested  boolean     NOT NULL DEFAULT false,
    runner            text,
    runner_pid        integer,
    started_at        timestamptz,
    copied_at         timestamptz,
    upper_bound       text,
    last_key          text,
    resumed_from      text,
    rows_done         bigint      NOT NULL DEFAULT 0,
    rows_updated      bigint      NOT NULL DEFAULT 0,
    rows_estimated    bigint,
    batches           bigint      NOT NULL DEFAULT 0,
    batch_size        integer,
    rate              double precision,
    eta_seconds       double precision,
    throttle_reason   text,
    errors            bigint      NOT NULL DEFAULT 0,
    last_error        text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zdm_backfill_verification (
    verification_id   bigserial   PRIMARY KEY,
    migration_id      text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    runner            text        NOT NULL,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL DEFAULT now(),
    passes            integer     NOT NULL,
    rows_checked      bigint      NOT NULL,
    rows_repaired     bigint      NOT NULL,
    rows_disagreeing  bigint      NOT NULL,
    succeeded         boolean     NOT NULL,
    fleet             text        NOT NULL
);

CREATE INDEX zdm_backfill_verification_migration ON zdm_backfill_verification (migration_id, finished_at);
