package dev.zdm.internal.ddl;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.BlockingSession;

/**
 * Reads a migration's DDL history as the endpoint, the health indicator and the test kit
 * show it ({@link DdlStatus}): its steps, its statements and its latest lock timeouts
 * with the sessions that blocked them. The runners record and read what they need through
 * {@link DdlHistoryRepository}, which holds every other statement on {@code zdm_ddl_*}.
 */
final class DdlStatusReader {

	private static final String STEPS = """
			/* zdm */ SELECT step, state, instance_id, started_at, finished_at, error FROM zdm_ddl_step
			WHERE migration_id = ? ORDER BY started_at
			""";

	private static final String STATEMENTS = """
			/* zdm */ SELECT step, source, statement_index, statement, state, attempts, lock_timeouts, started_at, finished_at, error,
			       allowed
			FROM zdm_ddl_statement WHERE migration_id = ?
			ORDER BY started_at, step, source, statement_index
			""";

	private static final String LOCK_TIMEOUTS = """
			/* zdm */ SELECT t.id, t.step, t.source, t.statement_index, t.attempt, t.occurred_at, t.waited_ms,
			       b.pid, b.state, b.application_name, b.state_ms, b.transaction_ms, b.query
			FROM (SELECT * FROM zdm_ddl_lock_timeout WHERE migration_id = ? ORDER BY id DESC LIMIT ?) t
			  LEFT JOIN zdm_ddl_blocker b ON b.lock_timeout_id = t.id
			ORDER BY t.id DESC, b.transaction_ms DESC NULLS LAST
			""";

	private final JdbcTemplate jdbcTemplate;

	private final ZdmTables tables;

	DdlStatusReader(JdbcTemplate jdbcTemplate, ZdmTables tables) {
		this.jdbcTemplate = jdbcTemplate;
		this.tables = tables;
	}

	/**
	 * Return a migration's DDL status, once zdm's tables exist.
	 * @param migrationId the migration
	 * @param recentLockTimeouts how many of the latest lock timeouts to include
	 * @return the status, empty if nothing ran yet
	 */
	DdlStatus status(String migrationId, int recentLockTimeouts) {
		List<DdlStatus.Step> steps = this.jdbcTemplate.query(this.tables.qualify(STEPS),
				(rs, row) -> new DdlStatus.Step(step(rs.getString("step")), rs.getString("state"),
						rs.getString("instance_id"), instant(rs.getTimestamp("started_at")),
						nullableInstant(rs.getTimestamp("finished_at")), rs.getString("error")),
				migrationId);
		List<DdlStatus.Statement> statements = this.jdbcTemplate.query(this.tables.qualify(STATEMENTS),
				(rs, row) -> new DdlStatus.Statement(step(rs.getString("step")), rs.getString("source"),
						rs.getInt("statement_index"), rs.getString("statement"), rs.getString("state"),
						rs.getInt("attempts"), rs.getInt("lock_timeouts"), instant(rs.getTimestamp("started_at")),
						nullableInstant(rs.getTimestamp("finished_at")), rs.getString("error"),
						rs.getString("allowed")),
				migrationId);
		return new DdlStatus(migrationId, steps, statements, lockTimeouts(migrationId, recentLockTimeouts));
	}

	private List<DdlStatus.LockTimeout> lockTimeouts(String migrationId, int limit) {
		Map<Long, DdlStatus.LockTimeout> timeouts = new LinkedHashMap<>();
		Map<Long, List<BlockingSession>> blockers = new LinkedHashMap<>();
		this.jdbcTemplate.query(this.tables.qualify(LOCK_TIMEOUTS), (rs) -> {
			long id = rs.getLong("id");
			List<BlockingSession> sessions = blockers.computeIfAbsent(id, (key) -> new ArrayList<>());
			timeouts.computeIfAbsent(id, (key) -> {
				try {
					return new DdlStatus.LockTimeout(step(rs.getString("step")), rs.getString("source"),
							rs.getInt("statement_index"), rs.getInt("attempt"), instant(rs.getTimestamp("occurred_at")),
							Duration.ofMillis(rs.getLong("waited_ms")), sessions);
				}
				catch (SQLException ex) {
					throw new IllegalStateException(ex);
				}
			});
			int pid = rs.getInt("pid");
			if (!rs.wasNull()) {
				sessions.add(new BlockingSession(pid, rs.getString("state"), rs.getString("application_name"),
						duration(rs, "transaction_ms"), duration(rs, "state_ms"), rs.getString("query")));
			}
		}, migrationId, limit);
		return timeouts.values()
			.stream()
			.map((timeout) -> new DdlStatus.LockTimeout(timeout.step(), timeout.source(), timeout.index(),
					timeout.attempt(), timeout.occurredAt(), timeout.waited(), List.copyOf(timeout.blockers())))
			.toList();
	}

	private static DdlStep step(String value) {
		return DdlStep.valueOf(value.toUpperCase(Locale.ROOT));
	}

	private static @Nullable Duration duration(ResultSet rs, String column) throws SQLException {
		long millis = rs.getLong(column);
		return rs.wasNull() ? null : Duration.ofMillis(millis);
	}

	private static Instant instant(Timestamp timestamp) {
		return timestamp.toInstant();
	}

	private static @Nullable Instant nullableInstant(@Nullable Timestamp timestamp) {
		return (timestamp != null) ? timestamp.toInstant() : null;
	}

}
