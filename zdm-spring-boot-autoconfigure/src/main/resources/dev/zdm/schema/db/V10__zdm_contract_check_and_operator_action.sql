-- The final check before a migration's contract DDL: its latest result, which holds the contract back while old
-- and new disagree; and every operator action through the endpoint (pausing, resuming or verifying the backfill,
-- pausing or resuming the expand, re-checking, applying the old side or overriding the final check) with who asked
-- for it, from which instance, when and why.

CREATE TABLE zdm_contract_check (
    migration_id      text        PRIMARY KEY REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    held              boolean     NOT NULL,
    checked_at        timestamptz NOT NULL DEFAULT now(),
    checked_by        text        NOT NULL,          -- the instance that ran the check
    rows_checked      bigint      NOT NULL,
    rows_disagreeing  bigint      NOT NULL,
    sample            text,                          -- a bounded sample of the disagreeing keys, one per line
    writers           text,                          -- sessions seen writing the tables, one per line
    reason            text,
    recheck_requested boolean     NOT NULL DEFAULT false,
    override_reason   text                           -- set by an override: the contract runs over a held check
);

CREATE TABLE zdm_operator_action (
    action_id    bigserial   PRIMARY KEY,
    migration_id text        NOT NULL REFERENCES zdm_migration (migration_id) ON DELETE CASCADE,
    action       text        NOT NULL,               -- backfill.pause, expand.resume, contract.override, ...
    principal    text        NOT NULL,               -- the authenticated user, or anonymous
    instance_id  text        NOT NULL,               -- the instance whose endpoint was called
    reason       text,
    acted_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX zdm_operator_action_migration ON zdm_operator_action (migration_id, acted_at);
