-- The WAL ceilings of a backfill are tuned live too: WAL segments waiting for the archiver above which the backfill
-- holds back (0 for never), and WAL bytes per second the database may write before it does (0 for no ceiling).
-- Each NULL while the declared value applies. Columns without a default: adding them rewrites nothing.

ALTER TABLE zdm_backfill_override ADD COLUMN max_wal_archive_backlog bigint;
ALTER TABLE zdm_backfill_override ADD COLUMN max_wal_rate bigint;
