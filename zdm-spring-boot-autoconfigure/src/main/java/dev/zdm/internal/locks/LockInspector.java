package dev.zdm.internal.locks;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.catalog.PartitionTree;
import dev.zdm.migration.TableName;

/**
 * Reads lock and transaction figures from {@code pg_locks} and {@code pg_stat_activity}:
 * who blocks a session, who waits on a table, how old the oldest transaction is. Every
 * such query zdm makes is here, and every blocking session zdm reports comes from here,
 * its query {@link QueryText normalized} unless asked not to. Needs PostgreSQL 14 or
 * later ({@code pg_locks.waitstart}).
 * <p>
 * Ages are measured against {@code clock_timestamp()}, never {@code now()}: {@code now()}
 * is when the inspecting transaction started, and {@code pg_stat_activity} is read after
 * that, so it can show a transaction that started later, whose age against {@code now()}
 * would be negative.
 */
public class LockInspector {

	// a session that itself waits for a lock is queued ahead of the one it blocks, not
	// holding what it waits for: its state says so, and it comes after the holders
	private static final String SESSION_COLUMNS = """
			a.pid,
			CASE WHEN a.wait_event_type = 'Lock' THEN a.state || '%s' ELSE a.state END AS state,
			a.application_name,
			extract(epoch FROM clock_timestamp() - a.xact_start) AS transaction_seconds,
			extract(epoch FROM clock_timestamp() - a.state_change) AS state_seconds,
			left(a.query, 1000) AS query
			""".formatted(BlockingSession.QUEUED);

	private static final String BLOCKERS_OF = "/* zdm */ SELECT " + SESSION_COLUMNS + """
			FROM pg_stat_activity a
			WHERE a.pid = ANY (pg_blocking_pids(?))
			ORDER BY a.wait_event_type IS NOT DISTINCT FROM 'Lock', a.xact_start NULLS LAST
			""";

	// sessions waiting for a lock, of any type, that work on the table or, for a
	// partitioned table, on any of its partitions: they wait for a lock on it, for a row
	// of it (a tuple lock), or hold a lock on it and wait for another (an update queued
	// behind a row another transaction changed waits for that transaction's id). pg_locks
	// is read once; pg_blocking_pids is asked only for those waiters
	private static final String TABLE_WAITERS = PartitionTree.WITH
			+ """
					, here AS (SELECT oid FROM pg_database WHERE datname = current_database()),
					  locks AS MATERIALIZED (
					    SELECT l.pid, l.locktype, l.database, l.relation, l.granted, l.waitstart FROM pg_locks l
					    WHERE l.pid <> pg_backend_pid()),
					  on_table AS (
					    SELECT k.pid, k.locktype, k.granted FROM locks k
					    WHERE k.locktype IN ('relation', 'tuple') AND k.database = (SELECT oid FROM here)
					      AND k.relation IN (SELECT t.oid FROM tree t)),
					  waiters AS (
					    SELECT w.pid, min(w.waitstart) AS waitstart,
					           bool_or(w.pid IN (SELECT o.pid FROM on_table o WHERE NOT o.granted AND o.locktype = 'relation'))
					             AS for_table
					    FROM locks w
					    WHERE NOT w.granted
					      AND w.pid IN (SELECT o.pid FROM on_table o WHERE o.granted AND o.locktype = 'relation'
					          OR NOT o.granted)
					    GROUP BY w.pid)
					SELECT count(DISTINCT w.pid) AS waiting, count(DISTINCT w.pid) FILTER (WHERE w.for_table) AS waiting_for_table,
					       coalesce(extract(epoch FROM clock_timestamp() - min(w.waitstart)), 0) AS longest_wait_seconds,
					       coalesce(array_agg(DISTINCT b.pid) FILTER (WHERE b.pid IS NOT NULL), '{}') AS blocker_pids
					FROM waiters w
					  LEFT JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid) ON true
					""";

	private static final String SESSIONS = "/* zdm */ SELECT " + SESSION_COLUMNS + """
			FROM pg_stat_activity a WHERE a.pid = ANY (?)
			ORDER BY a.wait_event_type IS NOT DISTINCT FROM 'Lock', a.xact_start NULLS LAST
			""";

	private static final String OLDEST_TRANSACTION = "/* zdm */ SELECT " + SESSION_COLUMNS + """
			, a.usename
			FROM pg_stat_activity a
			WHERE a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid() AND a.datname = current_database()
			  AND a.backend_type = 'client backend'
			ORDER BY a.xact_start
			LIMIT 1
			""";

	// sessions whose transaction, open longer than the parameter, holds a row-level lock
	// mode (FOR UPDATE/SHARE, or a row it changed) on the table or one of its partitions
	private static final String ROW_LOCK_HOLDERS = PartitionTree.WITH + "SELECT " + SESSION_COLUMNS + """
			FROM pg_stat_activity a
			WHERE a.pid IN (SELECT l.pid FROM pg_locks l
			    WHERE l.granted AND l.locktype = 'relation' AND l.mode IN ('RowShareLock', 'RowExclusiveLock')
			      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			      AND l.relation IN (SELECT t.oid FROM tree t) AND l.pid <> pg_backend_pid())
			  AND a.xact_start < clock_timestamp() - make_interval(secs => ?)
			ORDER BY a.xact_start
			LIMIT 3
			""";

	private final JdbcTemplate jdbcTemplate;

	private final boolean showQueryLiterals;

	/**
	 * Create an inspector that shows other sessions' queries with their constants
	 * replaced by placeholders.
	 * @param dataSource the application's data source
	 */
	public LockInspector(DataSource dataSource) {
		this(dataSource, false);
	}

	/**
	 * Create an inspector.
	 * @param dataSource the application's data source
	 * @param showQueryLiterals whether to show other sessions' queries as they are,
	 * constants included, rather than {@link QueryText#normalize normalized}; for
	 * debugging only, as constants may hold personal data
	 */
	public LockInspector(DataSource dataSource, boolean showQueryLiterals) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.showQueryLiterals = showQueryLiterals;
	}

	/**
	 * Return the sessions that block a backend.
	 * @param pid the blocked backend
	 * @return its blockers, oldest transaction first
	 */
	public List<BlockingSession> blockersOf(int pid) {
		return this.jdbcTemplate.query(BLOCKERS_OF, this::session, pid);
	}

	/**
	 * Return the lock figures of a table: waiters, longest wait, blockers and the oldest
	 * open transaction. A waiter is a session waiting for a lock of any type that works
	 * on the table: it waits for a lock on the table or on one of its rows, or it holds a
	 * lock on the table and waits for another one, such as the transaction id of a
	 * session that changed the row it updates. The waiters of a partitioned table are
	 * those of the table and of its partitions at every level.
	 * @param table the table
	 * @return the figures
	 */
	public TableLockFigures tableLockFigures(TableName table) {
		record Waiters(int waiting, int waitingForTable, Duration longestWait, Integer[] blockerPids) {
		}
		Waiters waiters = this.jdbcTemplate.queryForObject(TABLE_WAITERS,
				(rs, row) -> new Waiters(rs.getInt("waiting"), rs.getInt("waiting_for_table"),
						duration(rs, "longest_wait_seconds"), (Integer[]) rs.getArray("blocker_pids").getArray()),
				table.quoted());
		List<BlockingSession> blockers = (waiters == null || waiters.blockerPids().length == 0) ? List.of()
				: this.jdbcTemplate.query(SESSIONS, this::session, (Object) waiters.blockerPids());
		OldestTransaction oldest = oldestTransaction();
		return new TableLockFigures((waiters != null) ? waiters.waiting() : 0,
				(waiters != null) ? waiters.waitingForTable() : 0,
				(waiters != null && waiters.longestWait() != null) ? waiters.longestWait() : Duration.ZERO, blockers,
				(oldest != null) ? oldest.age() : null, (oldest != null) ? oldest.pid() : null, oldest);
	}

	/**
	 * Return the sessions whose transaction, open longer than a given time, holds rows of
	 * a table locked (selected {@code FOR UPDATE} or {@code FOR SHARE}, or changed): the
	 * likely blockers of a statement that timed out waiting for a row lock there, which
	 * no longer waits, so {@code pg_blocking_pids} cannot name them.
	 * @param table the table, with its partitions
	 * @param openLongerThan the least age of the transaction
	 * @return at most 3 sessions, oldest transaction first
	 */
	public List<BlockingSession> rowLockHolders(TableName table, Duration openLongerThan) {
		return this.jdbcTemplate.query(ROW_LOCK_HOLDERS, this::session, table.quoted(),
				openLongerThan.toMillis() / 1000.0);
	}

	/**
	 * Return the oldest open transaction of another client session in this database.
	 * @return the oldest transaction, or {@code null} if none is open
	 */
	public @Nullable OldestTransaction oldestTransaction() {
		List<OldestTransaction> found = this.jdbcTemplate.query(OLDEST_TRANSACTION,
				(rs, row) -> new OldestTransaction(rs.getInt("pid"), duration(rs, "transaction_seconds"),
						session(rs, row), rs.getString("usename")));
		return found.isEmpty() ? null : found.get(0);
	}

	private BlockingSession session(ResultSet rs, int row) throws SQLException {
		String query = rs.getString("query");
		return new BlockingSession(rs.getInt("pid"), rs.getString("state"), rs.getString("application_name"),
				duration(rs, "transaction_seconds"), duration(rs, "state_seconds"),
				this.showQueryLiterals ? query : QueryText.normalize(query));
	}

	private static @Nullable Duration duration(ResultSet rs, String column) throws SQLException {
		double seconds = rs.getDouble(column);
		return rs.wasNull() ? null : Duration.ofNanos((long) (seconds * 1_000_000_000L));
	}

	/**
	 * The oldest open transaction.
	 *
	 * @param pid its backend
	 * @param age how long it has been open
	 * @param session its session as {@code pg_stat_activity} shows it: application name,
	 * state and query (normalized unless {@code zdm.locks.show-query-literals})
	 * @param userName the session's role ({@code usename})
	 */
	public record OldestTransaction(int pid, @Nullable Duration age, @Nullable BlockingSession session,
			@Nullable String userName) {

		/**
		 * Name the transaction's session, for a hold-back reason.
		 * @return for example {@code pid 4242 (application 'psql', user 'app', idle in
		 * transaction)}
		 */
		public String who() {
			BlockingSession session = this.session;
			if (session == null) {
				return "pid " + this.pid;
			}
			String state = session.state();
			if (state != null && state.endsWith(BlockingSession.QUEUED)) {
				state = state.substring(0, state.length() - BlockingSession.QUEUED.length()) + " and queued for a lock";
			}
			return "pid " + this.pid + " (application '" + session.applicationName() + "', user '" + this.userName
					+ "', " + state + ")";
		}

		/**
		 * Return the session's current or last query, normalized unless
		 * {@code zdm.locks.show-query-literals}.
		 * @return the query, or {@code null} if unknown
		 */
		public @Nullable String query() {
			return (this.session != null) ? this.session.query() : null;
		}

	}

}
