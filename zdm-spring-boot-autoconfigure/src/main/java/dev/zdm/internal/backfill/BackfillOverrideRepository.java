package dev.zdm.internal.backfill;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.ResultSetExtractor;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.unit.DataSize;

import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.ZdmTables;

/**
 * Reads and writes the live overrides of each migration's backfill settings
 * ({@code zdm_backfill_override}): one row per migration, read by primary key at each
 * heartbeat. Every statement on the table is here.
 */
public class BackfillOverrideRepository {

	private static final String FIND = """
			/* zdm */ SELECT initial_batch_size, min_batch_size, max_batch_size,
			       extract(epoch FROM target_batch_duration) AS target_batch_duration, extract(epoch FROM pause) AS pause,
			       max_rows_per_second, max_latency_increase, max_lock_waiters,
			       extract(epoch FROM max_transaction_age) AS max_transaction_age,
			       extract(epoch FROM max_replication_lag) AS max_replication_lag,
			       max_wal_archive_backlog, max_wal_rate, set_by, set_on, set_at, reason
			FROM zdm_backfill_override WHERE migration_id = ?
			""";

	// durations are sent as ISO-8601 text, which PostgreSQL reads as an interval
	private static final String SAVE = """
			/* zdm */ INSERT INTO zdm_backfill_override (migration_id, initial_batch_size, min_batch_size, max_batch_size,
			    target_batch_duration, pause, max_rows_per_second, max_latency_increase, max_lock_waiters,
			    max_transaction_age, max_replication_lag, max_wal_archive_backlog, max_wal_rate, set_by, set_on, set_at,
			    reason)
			VALUES (?, ?, ?, ?, ?::interval, ?::interval, ?, ?, ?, ?::interval, ?::interval, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (migration_id) DO UPDATE SET
			    initial_batch_size = EXCLUDED.initial_batch_size, min_batch_size = EXCLUDED.min_batch_size,
			    max_batch_size = EXCLUDED.max_batch_size, target_batch_duration = EXCLUDED.target_batch_duration,
			    pause = EXCLUDED.pause, max_rows_per_second = EXCLUDED.max_rows_per_second,
			    max_latency_increase = EXCLUDED.max_latency_increase, max_lock_waiters = EXCLUDED.max_lock_waiters,
			    max_transaction_age = EXCLUDED.max_transaction_age, max_replication_lag = EXCLUDED.max_replication_lag,
			    max_wal_archive_backlog = EXCLUDED.max_wal_archive_backlog, max_wal_rate = EXCLUDED.max_wal_rate,
			    set_by = EXCLUDED.set_by, set_on = EXCLUDED.set_on, set_at = EXCLUDED.set_at, reason = EXCLUDED.reason
			""";

	// the change merged over the stored overrides in the statement, so that two changes
	// at once keep both
	private static final String CHANGE = """
			/* zdm */ INSERT INTO zdm_backfill_override AS o (migration_id, initial_batch_size, min_batch_size, max_batch_size,
			    target_batch_duration, pause, max_rows_per_second, max_latency_increase, max_lock_waiters,
			    max_transaction_age, max_replication_lag, max_wal_archive_backlog, max_wal_rate, set_by, set_on, set_at,
			    reason)
			VALUES (?, ?, ?, ?, ?::interval, ?::interval, ?, ?, ?, ?::interval, ?::interval, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (migration_id) DO UPDATE SET
			    initial_batch_size = coalesce(EXCLUDED.initial_batch_size, o.initial_batch_size),
			    min_batch_size = coalesce(EXCLUDED.min_batch_size, o.min_batch_size),
			    max_batch_size = coalesce(EXCLUDED.max_batch_size, o.max_batch_size),
			    target_batch_duration = coalesce(EXCLUDED.target_batch_duration,
			                                     o.target_batch_duration),
			    pause = coalesce(EXCLUDED.pause, o.pause),
			    max_rows_per_second = coalesce(EXCLUDED.max_rows_per_second, o.max_rows_per_second),
			    max_latency_increase = coalesce(EXCLUDED.max_latency_increase,
			                                    o.max_latency_increase),
			    max_lock_waiters = coalesce(EXCLUDED.max_lock_waiters, o.max_lock_waiters),
			    max_transaction_age = coalesce(EXCLUDED.max_transaction_age, o.max_transaction_age),
			    max_replication_lag = coalesce(EXCLUDED.max_replication_lag, o.max_replication_lag),
			    max_wal_archive_backlog = coalesce(EXCLUDED.max_wal_archive_backlog, o.max_wal_archive_backlog),
			    max_wal_rate = coalesce(EXCLUDED.max_wal_rate, o.max_wal_rate),
			    set_by = EXCLUDED.set_by, set_on = EXCLUDED.set_on, set_at = EXCLUDED.set_at, reason = EXCLUDED.reason
			""";

	// one statement, so that of the instances of a rolling deploy starting with the same
	// declaration one clears and the others find it cleared
	private static final String CLEAR_FOR_DECLARATION = """
			/* zdm */ INSERT INTO zdm_backfill_override AS o (migration_id, cleared_declaration, set_by, set_on, set_at, reason)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (migration_id) DO UPDATE SET
			    initial_batch_size = NULL, min_batch_size = NULL, max_batch_size = NULL, target_batch_duration = NULL,
			    pause = NULL, max_rows_per_second = NULL, max_latency_increase = NULL, max_lock_waiters = NULL,
			    max_transaction_age = NULL, max_replication_lag = NULL, max_wal_archive_backlog = NULL,
			    max_wal_rate = NULL,
			    cleared_declaration = EXCLUDED.cleared_declaration, set_by = EXCLUDED.set_by, set_on = EXCLUDED.set_on,
			    set_at = EXCLUDED.set_at, reason = EXCLUDED.reason
			WHERE o.cleared_declaration IS DISTINCT FROM EXCLUDED.cleared_declaration
			""";

	// held by a change of a migration's overrides until its transaction ends
	private static final String LOCK = "/* zdm */ SELECT pg_advisory_xact_lock(hashtext('zdm.backfill.tuning'), hashtext(?))";

	private final JdbcTemplate jdbcTemplate;

	private final TransactionTemplate transactions;

	private final ZdmTables tables;

	/**
	 * Create a repository on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public BackfillOverrideRepository(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a repository.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public BackfillOverrideRepository(DataSource dataSource, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		this.tables = tables;
	}

	/**
	 * Return a migration's overrides and who set them.
	 * @param migrationId the migration
	 * @return the overrides, or {@code null} if none was ever set or cleared
	 */
	public @Nullable Stored find(String migrationId) {
		List<Stored> found = this.jdbcTemplate.query(this.tables.qualify(FIND), (rs, row) -> stored(rs), migrationId);
		return found.isEmpty() ? null : found.get(0);
	}

	/**
	 * Replace a migration's overrides.
	 * @param migrationId the migration
	 * @param overrides the overrides, all of them; {@link BackfillOverrides#NONE} clears
	 * them
	 * @param action who asked, from which instance, when and why
	 */
	public void save(String migrationId, BackfillOverrides overrides, OperatorAction action) {
		this.jdbcTemplate.update(this.tables.qualify(SAVE), migrationId, overrides.initialBatchSize(),
				overrides.minBatchSize(), overrides.maxBatchSize(), iso(overrides.targetBatchDuration()),
				iso(overrides.pause()), overrides.maxRowsPerSecond(), overrides.maxLatencyIncrease(),
				overrides.maxLockWaiters(), iso(overrides.maxTransactionAge()), iso(overrides.maxReplicationLag()),
				overrides.maxWalArchiveBacklog(), bytes(overrides.maxWalRate()), action.principal(),
				action.instanceId(), Timestamp.from(action.actedAt()), action.reason());
	}

	/**
	 * Change some of a migration's overrides, keeping the others, if the overrides they
	 * make together pass a check: the check and the change run in one transaction under a
	 * lock of the migration's overrides, so that two changes sent at once to two
	 * instances are checked one after the other, each against what the other stored.
	 * @param migrationId the migration
	 * @param change the overrides to set; those left {@code null} keep their stored value
	 * @param action who asked, from which instance, when and why
	 * @param check given the overrides the change would make, throws to refuse it;
	 * nothing is changed then
	 */
	public void change(String migrationId, BackfillOverrides change, OperatorAction action,
			Consumer<BackfillOverrides> check) {
		this.transactions.executeWithoutResult((status) -> {
			this.jdbcTemplate.query(LOCK, (ResultSetExtractor<@Nullable Object>) (rs) -> null, migrationId);
			Stored stored = find(migrationId);
			check.accept(((stored != null) ? stored.overrides() : BackfillOverrides.NONE).with(change));
			change(migrationId, change, action);
		});
	}

	/**
	 * Change some of a migration's overrides, keeping the others.
	 * @param migrationId the migration
	 * @param change the overrides to set; those left {@code null} keep their stored value
	 * @param action who asked, from which instance, when and why
	 */
	public void change(String migrationId, BackfillOverrides change, OperatorAction action) {
		this.jdbcTemplate.update(this.tables.qualify(CHANGE), migrationId, change.initialBatchSize(),
				change.minBatchSize(), change.maxBatchSize(), iso(change.targetBatchDuration()), iso(change.pause()),
				change.maxRowsPerSecond(), change.maxLatencyIncrease(), change.maxLockWaiters(),
				iso(change.maxTransactionAge()), iso(change.maxReplicationLag()), change.maxWalArchiveBacklog(),
				bytes(change.maxWalRate()), action.principal(), action.instanceId(), Timestamp.from(action.actedAt()),
				action.reason());
	}

	/**
	 * Clear a migration's overrides for a declaration that says so, unless that same
	 * declaration cleared them already.
	 * @param migrationId the migration
	 * @param declaration the declaration's fingerprint
	 * @param action the clear, as recorded
	 * @return whether they were cleared now
	 */
	public boolean clearForDeclaration(String migrationId, String declaration, OperatorAction action) {
		return this.jdbcTemplate.update(this.tables.qualify(CLEAR_FOR_DECLARATION), migrationId, declaration,
				action.principal(), action.instanceId(), Timestamp.from(action.actedAt()), action.reason()) > 0;
	}

	private static Stored stored(ResultSet rs) throws SQLException {
		BackfillOverrides overrides = new BackfillOverrides(integer(rs, "initial_batch_size"),
				integer(rs, "min_batch_size"), integer(rs, "max_batch_size"), duration(rs, "target_batch_duration"),
				duration(rs, "pause"), rs.getObject("max_rows_per_second", Long.class),
				rs.getObject("max_latency_increase", Double.class), integer(rs, "max_lock_waiters"),
				duration(rs, "max_transaction_age"), duration(rs, "max_replication_lag"),
				rs.getObject("max_wal_archive_backlog", Long.class), size(rs, "max_wal_rate"));
		Timestamp setAt = rs.getTimestamp("set_at");
		return new Stored(overrides, rs.getString("set_by"), rs.getString("set_on"),
				(setAt != null) ? setAt.toInstant() : null, rs.getString("reason"));
	}

	private static @Nullable Integer integer(ResultSet rs, String column) throws SQLException {
		return rs.getObject(column, Integer.class);
	}

	private static @Nullable Duration duration(ResultSet rs, String column) throws SQLException {
		BigDecimal seconds = rs.getBigDecimal(column);
		return (seconds != null) ? Duration.ofNanos(seconds.movePointRight(9).longValue()) : null;
	}

	private static @Nullable DataSize size(ResultSet rs, String column) throws SQLException {
		Long bytes = rs.getObject(column, Long.class);
		return (bytes != null) ? DataSize.ofBytes(bytes) : null;
	}

	private static @Nullable Long bytes(@Nullable DataSize size) {
		return (size != null) ? size.toBytes() : null;
	}

	private static @Nullable String iso(@Nullable Duration duration) {
		return (duration != null) ? duration.toString() : null;
	}

	/**
	 * A migration's overrides as stored, with who set or cleared them last.
	 *
	 * @param overrides the overrides, {@link BackfillOverrides#NONE} once cleared
	 * @param setBy the principal who last changed or cleared them
	 * @param setOn the instance whose endpoint was called, or that cleared them for its
	 * declaration
	 * @param setAt when
	 * @param reason why, as given
	 */
	public record Stored(BackfillOverrides overrides, @Nullable String setBy, @Nullable String setOn,
			@Nullable Instant setAt, @Nullable String reason) {

	}

}
