-- zdm's own state. Applied by zdm's own Flyway, with its own history table (zdm_schema_history).

CREATE TABLE zdm_migration (
    migration_id             text        PRIMARY KEY,
    created_at               timestamptz NOT NULL DEFAULT now(),
    contracted_at            timestamptz,
    contracted_by            text,
    verified_at              timestamptz,
    verified_fleet           text,
    verification_voided_at   timestamptz,
    verification_void_reason text
);

CREATE TABLE zdm_instance (
    instance_id         text        NOT NULL,
    migration_id        text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    requested_phase     text        NOT NULL,
    effective_phase     text        NOT NULL,
    held_back_reason    text,
    application_version text,
    host                text,
    pid                 bigint,
    started_at          timestamptz NOT NULL DEFAULT now(),
    heartbeat_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, migration_id)
);

CREATE INDEX zdm_instance_migration_heartbeat ON zdm_instance (migration_id, heartbeat_at);
