package dev.zdm.internal.ddl;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Records and reads the DDL history of migrations in {@code zdm_ddl_step},
 * {@code zdm_ddl_statement}, {@code zdm_ddl_lock_timeout} and {@code zdm_ddl_blocker},
 * and the operator's pauses in {@code zdm_ddl_pause}. Every statement on those tables is
 * here, but for the reads that show the history ({@link DdlStatus}), which are in
 * {@link DdlStatusReader}.
 */
public class DdlHistoryRepository {

	/**
	 * How many of a migration's most recent lock timeouts (with their blockers) are kept:
	 * older ones are deleted as new ones are recorded, since a background expand retries
	 * until it gets its lock. The per-statement totals count them all.
	 */
	public static final int KEPT_LOCK_TIMEOUTS = 200;

	private static final String TABLES_EXIST = "/* zdm */ SELECT to_regclass('zdm_ddl_statement') IS NOT NULL";

	private static final String START_STEP = """
			/* zdm */ INSERT INTO zdm_ddl_step (migration_id, step, state, instance_id) VALUES (?, ?, 'running', ?)
			ON CONFLICT (migration_id, step) DO UPDATE
			SET state = 'running', instance_id = excluded.instance_id, started_at = now(), finished_at = NULL,
			    error = NULL
			""";

	private static final String FINISH_STEP = """
			/* zdm */ UPDATE zdm_ddl_step SET state = ?, finished_at = now(), error = ? WHERE migration_id = ? AND step = ?
			""";

	private static final String STOP_STEP = """
			/* zdm */ UPDATE zdm_ddl_step SET state = ?, finished_at = now(), error = ?
			WHERE migration_id = ? AND step = ? AND instance_id = ? AND state = 'running'
			""";

	private static final String STEP_DONE = """
			/* zdm */ SELECT EXISTS (SELECT 1 FROM zdm_ddl_step WHERE migration_id = ? AND step = ? AND state = 'done')
			""";

	private static final String START_STATEMENT = """
			/* zdm */ INSERT INTO zdm_ddl_statement (migration_id, step, source, statement_index, statement, checksum, state)
			VALUES (?, ?, ?, ?, ?, ?, 'running')
			ON CONFLICT (migration_id, step, source, statement_index) DO UPDATE
			SET statement = excluded.statement, checksum = excluded.checksum, state = 'running', started_at = now(),
			    finished_at = NULL, error = NULL, allowed = NULL, skipped_existing = NULL
			""";

	private static final String RECORD_ALLOWED = """
			/* zdm */ UPDATE zdm_ddl_statement SET allowed = ?
			WHERE migration_id = ? AND step = ? AND source = ? AND statement_index = ?
			""";

	private static final String COUNT_ATTEMPT = """
			/* zdm */ UPDATE zdm_ddl_statement SET attempts = attempts + 1
			WHERE migration_id = ? AND step = ? AND source = ? AND statement_index = ?
			""";

	private static final String MARK_APPLIED = """
			/* zdm */ UPDATE zdm_ddl_statement SET state = 'applied', finished_at = now(), error = NULL,
			    skipped_existing = ?
			WHERE migration_id = ? AND step = ? AND source = ? AND statement_index = ?
			""";

	private static final String MARK_PAUSED = """
			/* zdm */ UPDATE zdm_ddl_statement SET state = 'paused', finished_at = now(), error = ?
			WHERE migration_id = ? AND step = ? AND source = ? AND statement_index = ? AND state = 'running'
			""";

	private static final String MARK_FAILED = """
			/* zdm */ UPDATE zdm_ddl_statement SET state = 'failed', finished_at = now(), error = ?
			WHERE migration_id = ? AND step = ? AND source = ? AND statement_index = ? AND state = 'running'
			""";

	private static final String APPLIED_CHECKSUMS = """
			/* zdm */ SELECT source, statement_index, checksum FROM zdm_ddl_statement
			WHERE migration_id = ? AND step = ? AND state = 'applied'
			""";

	private static final String INSERT_LOCK_TIMEOUT = """
			/* zdm */ INSERT INTO zdm_ddl_lock_timeout (migration_id, step, source, statement_index, attempt, waited_ms)
			VALUES (?, ?, ?, ?, ?, ?)
			""";

	private static final String INSERT_BLOCKER = """
			/* zdm */ INSERT INTO zdm_ddl_blocker (lock_timeout_id, pid, state, application_name, state_ms, transaction_ms, query)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			""";

	private static final String DELETE_OLD_LOCK_TIMEOUTS = """
			/* zdm */ DELETE FROM zdm_ddl_lock_timeout WHERE migration_id = ? AND id <= (
			    SELECT id FROM zdm_ddl_lock_timeout WHERE migration_id = ? ORDER BY id DESC OFFSET ? LIMIT 1)
			""";

	private static final String INSERT_PAUSE = """
			/* zdm */ INSERT INTO zdm_ddl_pause (migration_id, step, instance_id) VALUES (?, ?, ?)
			ON CONFLICT (migration_id, step) DO NOTHING
			""";

	private static final String DELETE_PAUSE = "/* zdm */ DELETE FROM zdm_ddl_pause WHERE migration_id = ? AND step = ?";

	private static final String FIND_PAUSE = """
			/* zdm */ SELECT instance_id, paused_at FROM zdm_ddl_pause WHERE migration_id = ? AND step = ?
			""";

	private static final String COUNT_LOCK_TIMEOUT = """
			/* zdm */ UPDATE zdm_ddl_statement SET lock_timeouts = lock_timeouts + 1, error = ?
			WHERE migration_id = ? AND step = ? AND source = ? AND statement_index = ?
			""";

	private static final String STARTED_STATEMENTS = """
			/* zdm */ SELECT source, statement_index, statement, state, skipped_existing FROM zdm_ddl_statement
			WHERE migration_id = ? AND step = ?
			ORDER BY started_at, source, statement_index
			""";

	private static final String RELATION_EXISTS = "/* zdm */ SELECT to_regclass(?) IS NOT NULL";

	private static final String DELETE_FAILED_SCRIPTS = "/* zdm */ DELETE FROM %s WHERE NOT success";

	private final JdbcTemplate jdbcTemplate;

	private final TransactionTemplate transactionTemplate;

	private final DdlStatusReader statusReader;

	private final ZdmTables tables;

	/**
	 * Create a repository on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public DdlHistoryRepository(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a repository.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public DdlHistoryRepository(DataSource dataSource, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		this.statusReader = new DdlStatusReader(this.jdbcTemplate, tables);
		this.tables = tables;
	}

	/**
	 * Return where zdm's tables are.
	 * @return zdm's tables
	 */
	public ZdmTables tables() {
		return this.tables;
	}

	/**
	 * Record that a step starts on an instance.
	 * @param migrationId the migration
	 * @param step the step
	 * @param instanceId the instance
	 */
	public void stepStarted(String migrationId, DdlStep step, String instanceId) {
		this.jdbcTemplate.update(this.tables.qualify(START_STEP), migrationId, step.value(), instanceId);
	}

	/**
	 * Record that a step ran to its end.
	 * @param migrationId the migration
	 * @param step the step
	 */
	public void stepDone(String migrationId, DdlStep step) {
		this.jdbcTemplate.update(this.tables.qualify(FINISH_STEP), "done", null, migrationId, step.value());
	}

	/**
	 * Record that an instance's run of a step failed, unless the step is no longer that
	 * run's: another instance started it since (its session having outlived this one's)
	 * or it is over.
	 * @param migrationId the migration
	 * @param step the step
	 * @param instanceId the instance whose run failed
	 * @param error why
	 * @return {@code true} if recorded, {@code false} if the step is no longer this run's
	 */
	public boolean stepFailed(String migrationId, DdlStep step, String instanceId, String error) {
		return this.jdbcTemplate.update(this.tables.qualify(STOP_STEP), "failed", error, migrationId, step.value(),
				instanceId) > 0;
	}

	/**
	 * Record that an instance's run of a step stopped because it was paused, unless the
	 * step is no longer that run's.
	 * @param migrationId the migration
	 * @param step the step
	 * @param instanceId the instance whose run stopped
	 * @param reason who paused it, and what was stopped
	 */
	public void stepPaused(String migrationId, DdlStep step, String instanceId, String reason) {
		this.jdbcTemplate.update(this.tables.qualify(STOP_STEP), "paused", reason, migrationId, step.value(),
				instanceId);
	}

	/**
	 * Whether a step has run to its end.
	 * @param migrationId the migration
	 * @param step the step
	 * @return {@code true} if done
	 */
	public boolean isStepDone(String migrationId, DdlStep step) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(this.tables.qualify(STEP_DONE), Boolean.class,
				migrationId, step.value()));
	}

	/**
	 * Return the checksums of a step's applied statements, without writing anything, even
	 * if the tables do not exist yet.
	 * @param migrationId the migration
	 * @param step the step
	 * @return source to statement index to checksum
	 */
	public Map<String, Map<Integer, Integer>> appliedStatements(String migrationId, DdlStep step) {
		Map<String, Map<Integer, Integer>> applied = new LinkedHashMap<>();
		if (!Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(this.tables.qualify(TABLES_EXIST), Boolean.class))) {
			return applied;
		}
		this.jdbcTemplate.query(this.tables.qualify(APPLIED_CHECKSUMS), (rs) -> {
			applied.computeIfAbsent(rs.getString("source"), (source) -> new LinkedHashMap<>())
				.put(rs.getInt("statement_index"), rs.getInt("checksum"));
		}, migrationId, step.value());
		return applied;
	}

	/**
	 * Return every statement of a step that was started, applied or not, with its text,
	 * in the order they started. Only reads.
	 * @param migrationId the migration
	 * @param step the step
	 * @return the statements
	 */
	public List<RecordedStatement> startedStatements(String migrationId, DdlStep step) {
		if (!Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(this.tables.qualify(TABLES_EXIST), Boolean.class))) {
			return List.of();
		}
		return this.jdbcTemplate.query(this.tables.qualify(STARTED_STATEMENTS),
				(rs, row) -> new RecordedStatement(rs.getString("source"), rs.getInt("statement_index"),
						rs.getString("statement"), "applied".equals(rs.getString("state")),
						rs.getObject("skipped_existing", Boolean.class)),
				migrationId, step.value());
	}

	/**
	 * Record that a statement starts.
	 * @param key the statement
	 * @param sql its text
	 * @param checksum its checksum
	 */
	public void statementStarted(StatementKey key, String sql, int checksum) {
		this.jdbcTemplate.update(this.tables.qualify(START_STATEMENT), key.migrationId(), key.step().value(),
				key.source(), key.index(), sql, checksum);
	}

	/**
	 * Record, once a statement has started, the unsafe operations its script allowed for
	 * it and why.
	 * @param key the statement
	 * @param allowed the codes a {@code -- zdm:allow} comment allowed, each with its
	 * reason, such as {@code create-index: the table has 40 rows}
	 */
	public void allowed(StatementKey key, String allowed) {
		this.jdbcTemplate.update(this.tables.qualify(RECORD_ALLOWED), allowed, key.migrationId(), key.step().value(),
				key.source(), key.index());
	}

	/**
	 * Count an attempt of a statement.
	 * @param key the statement
	 */
	public void attempt(StatementKey key) {
		this.jdbcTemplate.update(this.tables.qualify(COUNT_ATTEMPT), key.migrationId(), key.step().value(),
				key.source(), key.index());
	}

	/**
	 * Record that a statement is applied, not knowing whether it skipped anything.
	 * @param key the statement
	 */
	public void applied(StatementKey key) {
		applied(key, null);
	}

	/**
	 * Record that a statement is applied.
	 * @param key the statement
	 * @param skippedExisting whether PostgreSQL skipped what it creates because it
	 * existed already ({@code IF NOT EXISTS}), or {@code null} if not known
	 */
	public void applied(StatementKey key, @Nullable Boolean skippedExisting) {
		this.jdbcTemplate.update(this.tables.qualify(MARK_APPLIED), skippedExisting, key.migrationId(),
				key.step().value(), key.source(), key.index());
	}

	/**
	 * Record that a statement is applied, in the transaction that applied it.
	 * @param connection the connection whose transaction ran the statement
	 * @param key the statement
	 * @param skippedExisting whether PostgreSQL skipped what it creates because it
	 * existed already ({@code IF NOT EXISTS})
	 * @throws SQLException if the update fails
	 */
	public void applied(Connection connection, StatementKey key, boolean skippedExisting) throws SQLException {
		try (PreparedStatement statement = connection.prepareStatement(this.tables.qualify(MARK_APPLIED))) {
			statement.setBoolean(1, skippedExisting);
			statement.setString(2, key.migrationId());
			statement.setString(3, key.step().value());
			statement.setString(4, key.source());
			statement.setInt(5, key.index());
			statement.executeUpdate();
		}
	}

	/**
	 * Let another login role, the one zdm runs its DDL as ({@code zdm.ddl.user}), record
	 * a statement it applied, in the transaction that applies it: grant it what that
	 * takes on zdm's tables, unless it has it, or is the role of this repository's
	 * connections.
	 * @param role the DDL role
	 * @throws ZdmConfigurationException if the grant is refused (the application's role
	 * does not own zdm's tables)
	 */
	public void allowRecordingBy(String role) {
		String own = this.jdbcTemplate.queryForObject("/* zdm */ SELECT current_user", String.class);
		if (role.equals(own)) {
			return;
		}
		String schema = this.tables.schema();
		String quotedRole = '"' + role.replace("\"", "\"\"") + '"';
		List<String> grants = new ArrayList<>();
		if (schema != null && !Boolean.TRUE.equals(this.jdbcTemplate
			.queryForObject("/* zdm */ SELECT has_schema_privilege(?, ?, 'USAGE')", Boolean.class, role, schema))) {
			grants.add("GRANT USAGE ON SCHEMA " + new SqlIdentifier(schema).quoted() + " TO " + quotedRole);
		}
		if (!Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(
				this.tables.qualify("/* zdm */ SELECT has_table_privilege(?, 'zdm_ddl_statement', 'SELECT, UPDATE')"),
				Boolean.class, role))) {
			grants.add(this.tables.qualify("GRANT SELECT, UPDATE ON zdm_ddl_statement TO " + quotedRole));
		}
		for (String grant : grants) {
			try {
				this.jdbcTemplate.execute("/* zdm */ " + grant);
			}
			catch (DataAccessException ex) {
				throw new ZdmConfigurationException(null,
						"zdm runs its DDL as role '" + role + "', which records each "
								+ "statement it applies in zdm's tables, and could not grant it that (" + grant + "): "
								+ ex.getMostSpecificCause().getMessage(),
						"Run that grant as the owner of zdm's tables, or leave zdm.ddl.user (and spring.flyway.user) "
								+ "unset to run zdm's DDL as the application's role.",
						ex);
			}
		}
	}

	/**
	 * Record that a statement was stopped, or cancelled while it waited for its lock,
	 * because its step was paused; the next run starts it again. Like
	 * {@link #failed(StatementKey, String)}, only while the statement is running.
	 * @param key the statement
	 * @param reason who paused the step, and what was stopped
	 */
	public void paused(StatementKey key, String reason) {
		this.jdbcTemplate.update(this.tables.qualify(MARK_PAUSED), reason, key.migrationId(), key.step().value(),
				key.source(), key.index());
	}

	/**
	 * Record that a statement failed for good, while it is running: a run whose session
	 * was lost does not mark failed what another instance has applied since.
	 * @param key the statement
	 * @param error why
	 */
	public void failed(StatementKey key, String error) {
		this.jdbcTemplate.update(this.tables.qualify(MARK_FAILED), error, key.migrationId(), key.step().value(),
				key.source(), key.index());
	}

	/**
	 * Record an attempt that timed out waiting for a lock, with the sessions that held
	 * it.
	 * @param key the statement
	 * @param attempt the attempt
	 * @param waited how long it waited
	 * @param blockers the sessions that blocked it
	 * @param report the blocker report, kept as the statement's last error
	 */
	public void lockTimeout(StatementKey key, int attempt, Duration waited, List<BlockingSession> blockers,
			String report) {
		this.transactionTemplate.executeWithoutResult((transaction) -> {
			GeneratedKeyHolder keys = new GeneratedKeyHolder();
			this.jdbcTemplate.update((connection) -> {
				PreparedStatement statement = connection.prepareStatement(this.tables.qualify(INSERT_LOCK_TIMEOUT),
						new String[] { "id" });
				statement.setString(1, key.migrationId());
				statement.setString(2, key.step().value());
				statement.setString(3, key.source());
				statement.setInt(4, key.index());
				statement.setInt(5, attempt);
				statement.setLong(6, waited.toMillis());
				return statement;
			}, keys);
			long id = Objects.requireNonNull(keys.getKey()).longValue();
			for (BlockingSession blocker : blockers) {
				this.jdbcTemplate.update(this.tables.qualify(INSERT_BLOCKER), id, blocker.pid(), blocker.state(),
						blocker.applicationName(), millis(blocker.stateAge()), millis(blocker.transactionAge()),
						blocker.query());
			}
			this.jdbcTemplate.update(this.tables.qualify(COUNT_LOCK_TIMEOUT), report, key.migrationId(),
					key.step().value(), key.source(), key.index());
			this.jdbcTemplate.update(this.tables.qualify(DELETE_OLD_LOCK_TIMEOUTS), key.migrationId(),
					key.migrationId(), KEPT_LOCK_TIMEOUTS);
		});
	}

	/**
	 * Pause a migration's step fleet-wide, unless it is paused already (then the first
	 * pause is kept).
	 * @param migrationId the migration
	 * @param step the step
	 * @param instanceId the instance whose endpoint pauses it
	 * @return the pause in force
	 */
	public DdlPause pause(String migrationId, DdlStep step, String instanceId) {
		this.jdbcTemplate.update(this.tables.qualify(INSERT_PAUSE), migrationId, step.value(), instanceId);
		return Objects.requireNonNull(findPause(migrationId, step));
	}

	/**
	 * Resume a migration's paused step.
	 * @param migrationId the migration
	 * @param step the step
	 * @return {@code true} if it was paused
	 */
	public boolean resume(String migrationId, DdlStep step) {
		return this.jdbcTemplate.update(this.tables.qualify(DELETE_PAUSE), migrationId, step.value()) > 0;
	}

	/**
	 * Return the pause of a migration's step.
	 * @param migrationId the migration
	 * @param step the step
	 * @return the pause, or {@code null} if the step is not paused
	 */
	public @Nullable DdlPause findPause(String migrationId, DdlStep step) {
		List<DdlPause> pauses = this.jdbcTemplate.query(this.tables.qualify(FIND_PAUSE),
				(rs, row) -> new DdlPause(rs.getString("instance_id"), rs.getTimestamp("paused_at").toInstant()),
				migrationId, step.value());
		return pauses.isEmpty() ? null : pauses.get(0);
	}

	/**
	 * Forget the scripts a step's Flyway history records as failed, so that Flyway runs
	 * them again: the statements they applied before failing are recorded here and are
	 * skipped, the others run.
	 * @param flywayDataSource where Flyway records the step's scripts: the data source
	 * zdm's DDL runs on, whose role owns the history table
	 * @param flywayTable the step's Flyway history table, as named by
	 * {@link FlywayStep#historyTable(String, DdlStep)}
	 * @return the number of failed scripts forgotten
	 */
	public int forgetFailedScripts(DataSource flywayDataSource, String flywayTable) {
		JdbcTemplate flyway = new JdbcTemplate(flywayDataSource);
		String quoted = '"' + flywayTable.replace("\"", "\"\"") + '"';
		if (!Boolean.TRUE.equals(flyway.queryForObject(RELATION_EXISTS, Boolean.class, quoted))) {
			return 0;
		}
		return flyway.update(DELETE_FAILED_SCRIPTS.formatted(quoted));
	}

	/**
	 * Return a migration's DDL status.
	 * @param migrationId the migration
	 * @param recentLockTimeouts how many of the latest lock timeouts to include
	 * @return the status, empty if nothing ran yet
	 */
	public DdlStatus status(String migrationId, int recentLockTimeouts) {
		if (!Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(this.tables.qualify(TABLES_EXIST), Boolean.class))) {
			return new DdlStatus(migrationId, List.of(), List.of(), List.of());
		}
		return this.statusReader.status(migrationId, recentLockTimeouts);
	}

	private static @Nullable Long millis(@Nullable Duration duration) {
		return (duration != null) ? duration.toMillis() : null;
	}

	/**
	 * A statement as the history recorded it.
	 *
	 * @param source the script's file name, or {@code contributor:<class>}
	 * @param index the statement's position in its source, from 1
	 * @param sql the statement
	 * @param applied whether it was applied (else it was started and failed, paused or
	 * cut short)
	 * @param skippedExisting whether PostgreSQL skipped what it creates because it
	 * existed already ({@code IF NOT EXISTS}), or {@code null} if not known
	 */
	public record RecordedStatement(String source, int index, String sql, boolean applied,
			@Nullable Boolean skippedExisting) {

	}

	/**
	 * Identifies one statement of one step of one migration.
	 *
	 * @param migrationId the migration
	 * @param step the step
	 * @param source the script's file name, or {@code contributor:<class>}
	 * @param index the statement's position in its source, from 1
	 */
	public record StatementKey(String migrationId, DdlStep step, String source, int index) {

		@Override
		public String toString() {
			return "migration '" + this.migrationId + "' " + this.step + " " + this.source + " statement " + this.index;
		}

	}

}
