-- The DDL concern: what ran of each migration's expand and contract steps, every attempt, and who blocked it.
-- Flyway's history of each migration's scripts is kept by the Flyway that runs them, in tables of zdm's own
-- named zdm_ddl_<step>_<migration id> (never the application's flyway_schema_history).

CREATE TABLE zdm_ddl_step (
    migration_id text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    step         text        NOT NULL,               -- expand, contract
    state        text        NOT NULL,               -- running, done, failed
    instance_id  text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    error        text,
    PRIMARY KEY (migration_id, step)
);

CREATE TABLE zdm_ddl_statement (
    migration_id    text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    step            text        NOT NULL,
    source          text        NOT NULL,            -- script file name, or contributor:<class>
    statement_index int         NOT NULL,
    statement       text        NOT NULL,
    checksum        int         NOT NULL,
    state           text        NOT NULL,            -- running, applied, failed
    attempts        int         NOT NULL DEFAULT 0,
    lock_timeouts   int         NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    error           text,
    PRIMARY KEY (migration_id, step, source, statement_index)
);

CREATE TABLE zdm_ddl_lock_timeout (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration_id    text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    step            text        NOT NULL,
    source          text        NOT NULL,
    statement_index int         NOT NULL,
    attempt         int         NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    waited_ms       bigint      NOT NULL
);

CREATE INDEX zdm_ddl_lock_timeout_migration ON zdm_ddl_lock_timeout (migration_id, id);

CREATE TABLE zdm_ddl_blocker (
    lock_timeout_id   bigint NOT NULL REFERENCES zdm_ddl_lock_timeout (id) ON DELETE CASCADE,
    pid               int    NOT NULL,
    state             text,
    application_name  text,
    state_ms          bigint,
    transaction_ms    bigint,
    query             text
);

CREATE INDEX zdm_ddl_blocker_lock_timeout ON zdm_ddl_blocker (lock_timeout_id);
