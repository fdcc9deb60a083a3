-- A fleet-wide pause of a migration's DDL step (the expand), set and cleared through /actuator/zdm: while its row
-- is here no instance starts or takes over the step, and the instance running it stops at the next safe point.

CREATE TABLE zdm_ddl_pause (
    migration_id text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    step         text        NOT NULL,               -- expand
    instance_id  text        NOT NULL,               -- the instance whose endpoint paused it
    paused_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (migration_id, step)
);
