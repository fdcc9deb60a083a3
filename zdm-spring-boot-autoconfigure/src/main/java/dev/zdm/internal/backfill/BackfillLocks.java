package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.ZdmTables;

/**
 * The session-level advisory locks a backfill run holds on its connection: the runner's
 * lock, which makes it the fleet's only runner of a migration's backfill, and its slots,
 * one per table and at most {@code zdm.fleet.max-concurrent-backfills} per database.
 * Every statement on them is here. PostgreSQL frees them with the session, so a runner
 * that dies frees its lock and its slots; the session's keepalives, set here too, have
 * the server notice soon that a runner vanished.
 */
final class BackfillLocks {

	private static final String TRY_LOCK = "/* zdm */ SELECT pg_try_advisory_lock(hashtext('zdm.backfill'), hashtext(?))";

	private static final String UNLOCK = "/* zdm */ SELECT pg_advisory_unlock(hashtext('zdm.backfill'), hashtext(?))";

	private static final String TRY_TABLE_SLOT = "/* zdm */ SELECT pg_try_advisory_lock(hashtext('zdm.backfill.table'), hashtext(?))";

	private static final String UNLOCK_TABLE_SLOT = "/* zdm */ SELECT pg_advisory_unlock(hashtext('zdm.backfill.table'), hashtext(?))";

	private static final String TRY_DATABASE_SLOT = "/* zdm */ SELECT pg_try_advisory_lock(hashtext('zdm.backfill.slot'), ?)";

	private static final String UNLOCK_DATABASE_SLOT = "/* zdm */ SELECT pg_advisory_unlock(hashtext('zdm.backfill.slot'), ?)";

	// the runners holding the table's slot; an advisory lock on two int4 keys shows them
	// as oids
	private static final String TABLE_SLOT_HOLDERS = """
			/* zdm */ SELECT DISTINCT b.migration_id FROM zdm_backfill b
			JOIN pg_locks l ON l.pid = b.runner_pid AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			WHERE l.classid = (hashtext('zdm.backfill.table')::bigint & 4294967295)::oid
			  AND l.objid = (hashtext(?)::bigint & 4294967295)::oid
			  AND b.migration_id <> ?
			ORDER BY b.migration_id
			""";

	// the runners holding one of the database's slots
	private static final String DATABASE_SLOT_HOLDERS = """
			/* zdm */ SELECT DISTINCT b.migration_id FROM zdm_backfill b
			JOIN pg_locks l ON l.pid = b.runner_pid AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			WHERE l.classid = (hashtext('zdm.backfill.slot')::bigint & 4294967295)::oid
			  AND b.migration_id <> ?
			ORDER BY b.migration_id
			""";

	// the other backfills of the table ahead of the one asking in the queue: started
	// copying before it (or it has not started; one paused and resumed by an operator
	// counts from its resume, behind the one that took its turn: by start alone it took
	// the turn back when that one's runner died), then by id, not done with its run (the
	// copy and the verification: one stopped while verifying keeps its turn too), not
	// paused or failed, and written within the fleet timeout, as by a runner stopped
	// gracefully whose turn another instance's next heartbeat takes up
	private static final String AHEAD_ON_TABLE = """
			/* zdm */ SELECT o.migration_id FROM zdm_backfill o JOIN zdm_backfill m ON m.migration_id = ?
			WHERE o.migration_id = ANY (?::text[]) AND o.migration_id <> m.migration_id
			  AND o.started_at IS NOT NULL AND NOT o.paused
			  AND o.state IN ('pending', 'running', 'throttled', 'verifying')
			  AND o.updated_at > now() - make_interval(secs => ?)
			  AND (m.started_at IS NULL OR (coalesce(o.queued_at, o.started_at), o.migration_id)
			                               < (coalesce(m.queued_at, m.started_at), m.migration_id))
			ORDER BY coalesce(o.queued_at, o.started_at), o.migration_id
			""";

	// the runner's session, when its instance is not among the fleet's live ones (read
	// through the fleet registry) and the backfill wrote no progress for the fleet
	// timeout, while that session still holds the runner's lock: a process paused or cut
	// off, whose connection the server still keeps (the kernel answers its keepalives)
	private static final String END_STALLED_RUNNER = """
			/* zdm */ SELECT b.runner, b.runner_pid, pg_terminate_backend(b.runner_pid) AS ended FROM zdm_backfill b
			WHERE b.migration_id = ? AND b.runner_pid IS NOT NULL AND b.runner_pid <> pg_backend_pid()
			  AND b.updated_at < now() - make_interval(secs => ?)
			  AND NOT (b.runner = ANY (?::text[]))
			  AND EXISTS (SELECT 1 FROM pg_locks l
			              WHERE l.pid = b.runner_pid AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			                AND l.classid = (hashtext('zdm.backfill')::bigint & 4294967295)::oid
			                AND l.objid = (hashtext(b.migration_id)::bigint & 4294967295)::oid)
			""";

	private static final String KEEP_ALIVE = """
			/* zdm */ SELECT set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),
			       set_config('tcp_keepalives_count', '3', false)
			""";

	private final JdbcTemplate jdbcTemplate;

	private final ZdmTables tables;

	/**
	 * Create the locks of a run.
	 * @param jdbcTemplate the run's connection: session-level locks belong to it
	 * @param tables where zdm's tables are
	 */
	BackfillLocks(JdbcTemplate jdbcTemplate, ZdmTables tables) {
		this.jdbcTemplate = jdbcTemplate;
		this.tables = tables;
	}

	boolean tryLock(String migrationId) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(TRY_LOCK, Boolean.class, migrationId));
	}

	/**
	 * End the session of a stalled runner of the migration's backfill: its instance is
	 * not live in the fleet, the backfill wrote no progress for the fleet timeout, and
	 * the session still holds the runner's lock. Its batch in flight rolls back, as after
	 * a kill; the lock is freed once the server has ended it.
	 * @param migrationId the migration
	 * @param fleetTimeout the fleet timeout
	 * @param liveInstances the migration's live instances, as the fleet registry reads
	 * them
	 * @return the stalled runner and its session's pid, if one was ended
	 */
	@Nullable String endStalledRunner(String migrationId, Duration fleetTimeout, List<String> liveInstances) {
		double seconds = fleetTimeout.toNanos() / 1e9;
		List<String> ended = this.jdbcTemplate.query(this.tables.qualify(END_STALLED_RUNNER),
				(rs, row) -> rs.getBoolean("ended")
						? rs.getString("runner") + " (database backend pid " + rs.getInt("runner_pid") + ")" : null,
				migrationId, seconds, liveInstances.toArray(String[]::new));
		return ended.stream().filter(Objects::nonNull).findFirst().orElse(null);
	}

	/**
	 * Have the server notice a vanished runner within about 25 seconds and end its
	 * session, which frees the runner's lock and slots for another instance.
	 */
	void keepAlive() {
		this.jdbcTemplate.queryForList(KEEP_ALIVE);
	}

	void unlock(String migrationId) {
		this.jdbcTemplate.queryForObject(UNLOCK, Boolean.class, migrationId);
	}

	/**
	 * Try to take the table's backfill slot, so that one backfill at a time works on a
	 * table across the fleet.
	 * @param quotedTable the table
	 * @return {@code true} if taken
	 */
	boolean tryTableSlot(String quotedTable) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(TRY_TABLE_SLOT, Boolean.class, quotedTable));
	}

	void releaseTableSlot(String quotedTable) {
		this.jdbcTemplate.queryForObject(UNLOCK_TABLE_SLOT, Boolean.class, quotedTable);
	}

	/**
	 * Try to take one of the database's backfill slots.
	 * @param slot the slot, from 1
	 * @return {@code true} if taken
	 */
	boolean tryDatabaseSlot(int slot) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(TRY_DATABASE_SLOT, Boolean.class, slot));
	}

	void releaseDatabaseSlot(int slot) {
		this.jdbcTemplate.queryForObject(UNLOCK_DATABASE_SLOT, Boolean.class, slot);
	}

	/**
	 * Return the other backfills of the table that come before the one asking in the
	 * fleet's queue: those that started copying earlier (all that started, if it has
	 * not), by when they started and then by id, and still want to copy: not done, not
	 * paused, and written within the fleet timeout, so that one whose runner stopped
	 * keeps its turn until another instance runs it.
	 * @param migrationId the migration asking
	 * @param sameTable the migrations on its table this instance knows of
	 * @param fleetTimeout the fleet timeout
	 * @return their ids, first in the queue first
	 */
	List<String> aheadOnTable(String migrationId, List<String> sameTable, Duration fleetTimeout) {
		if (sameTable.isEmpty()) {
			return List.of();
		}
		return this.jdbcTemplate.queryForList(this.tables.qualify(AHEAD_ON_TABLE), String.class, migrationId,
				sameTable.toArray(String[]::new), fleetTimeout.toNanos() / 1e9);
	}

	/**
	 * Return the other migrations whose runners hold the table's backfill slot now.
	 * @param migrationId the migration asking
	 * @param quotedTable the table
	 * @return their ids
	 */
	List<String> tableSlotHolders(String migrationId, String quotedTable) {
		return this.jdbcTemplate.queryForList(this.tables.qualify(TABLE_SLOT_HOLDERS), String.class, quotedTable,
				migrationId);
	}

	/**
	 * Return the other migrations whose runners hold one of the database's backfill slots
	 * now.
	 * @param migrationId the migration asking
	 * @return their ids
	 */
	List<String> databaseSlotHolders(String migrationId) {
		return this.jdbcTemplate.queryForList(this.tables.qualify(DATABASE_SLOT_HOLDERS), String.class, migrationId);
	}

}
