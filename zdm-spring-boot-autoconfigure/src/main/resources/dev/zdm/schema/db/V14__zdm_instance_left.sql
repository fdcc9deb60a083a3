-- A graceful stop marks the instance's rows as left instead of deleting them. Every phase decision leaves such a row
-- out at once, as before; only a step that cannot be undone (the contract, the abandon) still waits for an instance
-- that left behind it, as for one that died, until it has been gone zdm.fleet.timeout: an instance stopped to be
-- restarted comes back at the phase it is deployed with, and after the contract an instance at read-new could not
-- start again. No default: adding the column rewrites nothing.

ALTER TABLE zdm_instance ADD COLUMN left_at timestamptz;
