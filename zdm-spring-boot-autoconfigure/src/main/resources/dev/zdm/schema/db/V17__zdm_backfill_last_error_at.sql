-- When the backfill's last error happened: an error of an earlier run, shown beside a backfill that copies again,
-- read as a current failure without it. NULL while there is no last error (and for errors recorded before this column).

ALTER TABLE zdm_backfill ADD COLUMN last_error_at timestamptz;
