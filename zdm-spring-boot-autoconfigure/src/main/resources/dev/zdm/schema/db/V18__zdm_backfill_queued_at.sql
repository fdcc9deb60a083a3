-- Where a backfill stands in its table's queue: when it started, or, once an operator paused and resumed it, when it
-- was resumed (it then waits behind the backfill that took its turn). NULL: its started_at.

ALTER TABLE zdm_backfill ADD COLUMN queued_at timestamptz;
