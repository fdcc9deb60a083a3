package dev.zdm.internal.backfill;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.backfill.VerificationProgress;
import dev.zdm.internal.catalog.PartitionTree;
import dev.zdm.internal.fleet.ZdmTables;

/**
 * Reads and writes a backfill's progress ({@code zdm_backfill}) and verification results
 * ({@code zdm_backfill_verification}), and holds the statements a backfill runner sends
 * about itself: its session settings, and the catalog reads of its signals. Every such
 * statement is here; the run's advisory locks are in {@link BackfillLocks}, the
 * statements on the migration's own table in {@link BackfillStatements}.
 */
public class BackfillRepository {

	// on a partitioned table autovacuum works on its partitions
	private static final String AUTOVACUUM = PartitionTree.WITH + """
						SELECT v.phase FROM pg_stat_progress_vacuum v JOIN pg_stat_activity a ON a.pid = v.pid
						WHERE v.relid IN (SELECT t.oid FROM tree t) AND a.backend_type = 'autovacuum worker'
						ORDER BY a.xact_start NULLS LAST
			""";

	// zdm's own statements on the pool's other connections (heartbeats, progress, these
	// checks of other copies) begin with the marker; a session idle in a transaction
	// shows the transaction's last statement, which for zdm's own is marked as well. The
	// driver's BEGIN, COMMIT and ROLLBACK cannot carry the marker and do not show whose
	// transaction they are: beside a copy they were zdm's only statements counted; an
	// application's transactions count by their statements.
	private static final String OTHERS_BUSY = """
			/* zdm */ SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend'
			  AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid() AND pid <> ALL (?)
			  AND query NOT LIKE '/* zdm */%' AND query NOT IN ('BEGIN', 'COMMIT', 'ROLLBACK')
			""";

	private static final String BACKEND_PID = "/* zdm */ SELECT pg_backend_pid()";

	// and the mark of zdm's own writes, which a table's own trigger can read to leave
	// them alone: current_setting('zdm.backfill', true) = 'on'
	private static final String LOCAL_TIMEOUTS = """
			/* zdm */ SELECT set_config('lock_timeout', ?, true), set_config('statement_timeout', ?, true),
			       set_config('zdm.backfill', 'on', true)
			""";

	// the table's own enabled row triggers that fire for the given events (pg_trigger's
	// tgtype bits: 1 row, 4 insert, 16 update), zdm's own left out
	private static final String OWN_ROW_TRIGGERS = """
			/* zdm */ SELECT t.tgname,
			       p.prosrc LIKE '%zdm.backfill%' OR pg_get_triggerdef(t.oid) LIKE '%zdm.backfill%' AS reads_mark
			FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
			WHERE t.tgrelid = to_regclass(?) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
			  AND (t.tgtype & 1) = 1 AND (t.tgtype & ?) <> 0 AND t.tgname NOT LIKE 'zdm\\_%'
			ORDER BY t.tgname
			""";

	private static final String SESSION_LOCK_TIMEOUT = "/* zdm */ SELECT set_config('lock_timeout', ?, false)";

	private static final String RESET_LOCK_TIMEOUT = "/* zdm */ RESET lock_timeout";

	// A partitioned table holds no rows of its own and autovacuum never analyzes it (its
	// reltuples stays -1): its partitions' estimates add up to its own, -1 while none
	// of them was analyzed either.
	private static final String ESTIMATED_ROWS = PartitionTree.WITH + """
						SELECT coalesce(sum(c.reltuples) FILTER (WHERE c.reltuples >= 0), -1)::bigint
						FROM tree t JOIN pg_class c ON c.oid = t.oid
						WHERE t.relkind <> 'p'
			""";

	private static final String ENSURE = """
			/* zdm */ INSERT INTO zdm_backfill (migration_id) VALUES (?) ON CONFLICT (migration_id) DO NOTHING
			""";

	private static final String FIND = """
			/* zdm */ SELECT migration_id, state, paused, verify_requested, runner, rows_done, rows_updated, rows_estimated, rate,
			       eta_seconds, batch_size, batches, last_key, upper_bound, resumed_from, throttle_reason, errors,
			       last_error, last_error_at, started_at, copied_at, updated_at, verify_pass, verify_started_at, verify_upper_bound,
			       verify_last_key, verify_rows_checked, verify_rows_to_check, verify_rows_disagreeing,
			       verify_rows_repaired, verify_rate, verify_eta_seconds
			FROM zdm_backfill WHERE migration_id = ?
			""";

	private static final String CLAIM = """
			/* zdm */ UPDATE zdm_backfill
			SET runner = ?, runner_pid = pg_backend_pid(), resumed_from = last_key, state = ?, throttle_reason = NULL,
			    updated_at = now()
			WHERE migration_id = ?
			""";

	private static final String START = """
			/* zdm */ UPDATE zdm_backfill
			SET upper_bound = ?, rows_estimated = ?, started_at = now(), queued_at = NULL, copied_at = NULL, last_key = NULL,
			    resumed_from = NULL, rows_done = 0, rows_updated = 0, batches = 0, state = 'running', updated_at = now()
			WHERE migration_id = ?
			""";

	private static final String CHECKPOINT = """
			/* zdm */ UPDATE zdm_backfill
			SET last_key = ?, rows_done = rows_done + ?, rows_updated = rows_updated + ?, batches = batches + 1,
			    batch_size = ?, rate = ?, eta_seconds = ?, state = ?, throttle_reason = ?, updated_at = now()
			WHERE migration_id = ? AND runner = ?
			RETURNING paused
			""";

	private static final String MARK_COPIED = """
			/* zdm */ UPDATE zdm_backfill SET copied_at = now(), state = 'verifying', eta_seconds = NULL, updated_at = now()
			WHERE migration_id = ?
			""";

	// a verified backfill keeps its error count, not the last error of a run before it,
	// which would read as a problem of the verified one
	private static final String SET_STATE = """
			/* zdm */ UPDATE zdm_backfill SET state = ?, throttle_reason = ?, updated_at = now(),
			    rate = CASE WHEN ? AND copied_at IS NULL THEN NULL ELSE rate END,
			    verify_rate = CASE WHEN ? AND copied_at IS NOT NULL THEN NULL ELSE verify_rate END,
			    eta_seconds = CASE WHEN ? THEN NULL ELSE eta_seconds END,
			    verify_eta_seconds = CASE WHEN ? THEN NULL ELSE verify_eta_seconds END,
			    last_error = CASE WHEN ? THEN NULL ELSE last_error END,
			    last_error_at = CASE WHEN last_error IS NULL OR ? THEN NULL ELSE last_error_at END
			WHERE migration_id = ?
			RETURNING paused
			""";

	// A verification keeps its rate and ETA in verify_rate and verify_eta_seconds; rate
	// and eta_seconds stay the copy's, which the meters and the plan's estimate read.
	private static final String START_VERIFYING = """
			/* zdm */ UPDATE zdm_backfill
			SET state = 'verifying', verify_requested = false, throttle_reason = NULL, verify_pass = 1,
			    verify_started_at = now(), verify_upper_bound = ?, verify_last_key = NULL, verify_rows_checked = 0,
			    verify_rows_to_check = ?, verify_rows_disagreeing = 0, verify_rows_repaired = 0, verify_rate = NULL,
			    verify_eta_seconds = NULL, eta_seconds = NULL, updated_at = now()
			WHERE migration_id = ?
			""";

	private static final String NEXT_PASS = """
			/* zdm */ UPDATE zdm_backfill
			SET verify_pass = verify_pass + 1, verify_upper_bound = ?, verify_last_key = NULL, verify_rows_checked = 0,
			    verify_rows_to_check = ?, verify_rows_disagreeing = 0, verify_eta_seconds = NULL, updated_at = now()
			WHERE migration_id = ? AND runner = ?
			""";

	private static final String CHECKPOINT_VERIFICATION = """
			/* zdm */ UPDATE zdm_backfill
			SET verify_last_key = ?, verify_rows_checked = verify_rows_checked + ?,
			    verify_rows_disagreeing = verify_rows_disagreeing + ?, verify_rows_repaired = verify_rows_repaired + ?,
			    verify_rate = ?, verify_eta_seconds = ?, state = 'verifying',
			    throttle_reason = NULL, updated_at = now()
			WHERE migration_id = ? AND runner = ?
			RETURNING paused
			""";

	private static final String FINISH_VERIFYING = """
			/* zdm */ UPDATE zdm_backfill SET verify_pass = NULL, eta_seconds = NULL, updated_at = now() WHERE migration_id = ?
			""";

	private static final String RESTART_VERIFICATION = """
			/* zdm */ UPDATE zdm_backfill SET verify_pass = NULL, updated_at = now()
			WHERE migration_id = ? AND verify_pass IS NOT NULL
			""";

	private static final String RECORD_ERROR = """
			/* zdm */ UPDATE zdm_backfill SET errors = errors + ?, last_error = ?, last_error_at = now(), updated_at = now()
			WHERE migration_id = ?
			""";

	private static final String PAUSE = """
			/* zdm */ INSERT INTO zdm_backfill AS b (migration_id, paused, state) VALUES (?, true, 'paused')
			ON CONFLICT (migration_id) DO UPDATE
			SET paused = true, state = CASE WHEN b.state = 'verified' THEN 'verified' ELSE 'paused' END,
			    updated_at = now()
			""";

	private static final String STOP_FAILED = """
			/* zdm */ UPDATE zdm_backfill
			SET paused = true, state = 'failed', throttle_reason = NULL, errors = errors + 1, last_error = ?,
			    last_error_at = now(), updated_at = now()
			WHERE migration_id = ?
			""";

	// a resume of a failed backfill takes back the stop's advice, which said to resume
	private static final String RESUME = """
			/* zdm */ UPDATE zdm_backfill
			SET paused = false, state = CASE WHEN state IN ('paused', 'failed') THEN 'pending' ELSE state END,
			    queued_at = CASE WHEN paused OR state IN ('paused', 'failed') THEN now() ELSE queued_at END,
			    last_error = CASE WHEN state = 'failed' THEN NULL ELSE last_error END,
			    last_error_at = CASE WHEN state = 'failed' THEN NULL ELSE last_error_at END, updated_at = now()
			WHERE migration_id = ?
			""";

	private static final String REQUEST_VERIFICATION = """
			/* zdm */ INSERT INTO zdm_backfill (migration_id, verify_requested) VALUES (?, true)
			ON CONFLICT (migration_id) DO UPDATE SET verify_requested = true, updated_at = now()
			""";

	private static final String INSERT_VERIFICATION = """
			/* zdm */ INSERT INTO zdm_backfill_verification
			    (migration_id, runner, started_at, passes, rows_checked, rows_repaired, rows_disagreeing, succeeded, fleet)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			""";

	private static final String LATEST_VERIFICATION = """
			/* zdm */ SELECT migration_id, runner, started_at, finished_at, passes, rows_checked, rows_repaired, rows_disagreeing,
			       succeeded, fleet
			FROM zdm_backfill_verification WHERE migration_id = ?
			ORDER BY finished_at DESC, verification_id DESC LIMIT 1
			""";

	private final JdbcTemplate jdbcTemplate;

	private final ZdmTables tables;

	/**
	 * Create a repository of zdm's tables where they are by default.
	 * @param dataSource the application's data source, or one session's
	 */
	public BackfillRepository(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a repository.
	 * @param dataSource the application's data source, or one session's
	 * @param tables where zdm's tables are
	 */
	public BackfillRepository(DataSource dataSource, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.tables = tables;
	}

	JdbcTemplate jdbcTemplate() {
		return this.jdbcTemplate;
	}

	/**
	 * Return the phase of an autovacuum working on a table, or {@code null} if none does.
	 * @param quotedTable the table
	 * @return the phase
	 */
	@Nullable String autovacuumPhase(String quotedTable) {
		List<String> phases = this.jdbcTemplate.queryForList(AUTOVACUUM, String.class, quotedTable);
		return phases.isEmpty() ? null : phases.get(0);
	}

	/**
	 * Return how many other sessions of the database run a statement or a transaction
	 * right now.
	 * @param excludedPids backends that do not count (the copy's own)
	 */
	long othersBusy(Integer[] excludedPids) {
		Long count = this.jdbcTemplate.queryForObject(OTHERS_BUSY, Long.class, (Object) excludedPids);
		return (count != null) ? count : 0;
	}

	/**
	 * Return the backend process of this repository's connection.
	 */
	int backendPid() {
		Integer pid = this.jdbcTemplate.queryForObject(BACKEND_PID, Integer.class);
		return (pid != null) ? pid : 0;
	}

	void setLocalTimeouts(Duration lockTimeout, Duration statementTimeout) {
		this.jdbcTemplate.queryForList(LOCAL_TIMEOUTS, lockTimeout.toMillis() + "ms",
				statementTimeout.toMillis() + "ms");
	}

	/**
	 * Return the table's own row triggers that fire for inserts or updates.
	 * @param table the table, quoted
	 * @param updatesOnly whether only those firing for updates count
	 * @return them, in name order
	 */
	List<OwnTrigger> ownRowTriggers(String table, boolean updatesOnly) {
		return this.jdbcTemplate.query(OWN_ROW_TRIGGERS,
				(rs, row) -> new OwnTrigger(rs.getString("tgname"), rs.getBoolean("reads_mark")), table,
				updatesOnly ? 16 : 4 | 16);
	}

	/**
	 * A row trigger of the table's own.
	 *
	 * @param name its name
	 * @param readsMark whether it (its function or its {@code WHEN}) reads
	 * {@code zdm.backfill}, the mark of zdm's copy and repairs, as one that leaves them
	 * alone does
	 */
	record OwnTrigger(String name, boolean readsMark) {

	}

	void setSessionLockTimeout(Duration lockTimeout) {
		this.jdbcTemplate.queryForList(SESSION_LOCK_TIMEOUT, lockTimeout.toMillis() + "ms");
	}

	void resetLockTimeout() {
		this.jdbcTemplate.execute(RESET_LOCK_TIMEOUT);
	}

	long estimatedRows(String quotedTable) {
		Long estimate = this.jdbcTemplate.queryForObject(ESTIMATED_ROWS, Long.class, quotedTable);
		return (estimate != null) ? estimate : -1;
	}

	void ensure(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(ENSURE), migrationId);
	}

	@Nullable StoredProgress find(String migrationId) {
		List<StoredProgress> found = this.jdbcTemplate.query(this.tables.qualify(FIND), BackfillRepository::progress,
				migrationId);
		return found.isEmpty() ? null : found.get(0);
	}

	void claim(String migrationId, String runner, BackfillState state) {
		this.jdbcTemplate.update(this.tables.qualify(CLAIM), runner, state.value(), migrationId);
	}

	void start(String migrationId, @Nullable String upperBound, long estimatedRows) {
		this.jdbcTemplate.update(this.tables.qualify(START), upperBound, estimatedRows, migrationId);
	}

	/**
	 * Record a copy batch, in its transaction.
	 * @param migrationId the migration
	 * @param runner the instance that runs the copy
	 * @param checkpoint the batch
	 * @return whether a pause was asked for
	 * @throws IllegalStateException if another instance took the run over
	 */
	boolean checkpoint(String migrationId, String runner, Checkpoint checkpoint) {
		return paused(migrationId, runner,
				this.jdbcTemplate.query(this.tables.qualify(CHECKPOINT), (rs, row) -> rs.getBoolean(1),
						checkpoint.lastKey(), checkpoint.rows(), checkpoint.changed(), checkpoint.batchSize(),
						checkpoint.rate(), checkpoint.etaSeconds(), BackfillState.RUNNING.value(), checkpoint.pacedBy(),
						migrationId, runner));
	}

	void markCopied(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(MARK_COPIED), migrationId);
	}

	boolean setState(String migrationId, BackfillState state, @Nullable String reason) {
		// a paused walk, or one held back (by a load check, or in the queue for a slot),
		// walks no rows and has no time left to estimate until it runs again: the last
		// rate and ETA would stand still meanwhile (the copy's once it is done stays)
		return setState(migrationId, state, reason, state == BackfillState.PAUSED || state == BackfillState.THROTTLED);
	}

	/**
	 * Say that a batch waits for a row another session holds: no rate and no time left to
	 * estimate until it goes through.
	 * @param migrationId the migration
	 * @param state the walk's state, running or verifying
	 * @param reason the reason, naming the likely holder
	 */
	void waitsForRowLock(String migrationId, BackfillState state, String reason) {
		setState(migrationId, state, reason, true);
	}

	private boolean setState(String migrationId, BackfillState state, @Nullable String reason, boolean stopped) {
		List<Boolean> asked = this.jdbcTemplate.query(this.tables.qualify(SET_STATE), (rs, row) -> rs.getBoolean(1),
				state.value(), reason, stopped, stopped, stopped, stopped, state == BackfillState.VERIFIED,
				state == BackfillState.VERIFIED, migrationId);
		return !asked.isEmpty() && asked.get(0);
	}

	void startVerifying(String migrationId, @Nullable String upperBound, @Nullable Long rowsToCheck) {
		this.jdbcTemplate.update(this.tables.qualify(START_VERIFYING), upperBound, rowsToCheck, migrationId);
	}

	void nextPass(String migrationId, String runner, @Nullable String upperBound, @Nullable Long rowsToCheck) {
		this.jdbcTemplate.update(this.tables.qualify(NEXT_PASS), upperBound, rowsToCheck, migrationId, runner);
	}

	/**
	 * Record a verification batch, in its transaction.
	 * @param migrationId the migration
	 * @param runner the instance that runs the verification
	 * @param checkpoint the batch
	 * @return whether a pause was asked for
	 * @throws IllegalStateException if another instance took the run over
	 */
	boolean checkpointVerification(String migrationId, String runner, Checkpoint checkpoint) {
		return paused(migrationId, runner,
				this.jdbcTemplate.query(this.tables.qualify(CHECKPOINT_VERIFICATION), (rs, row) -> rs.getBoolean(1),
						checkpoint.lastKey(), checkpoint.rows(), checkpoint.disagreeing(), checkpoint.changed(),
						checkpoint.rate(), checkpoint.etaSeconds(), migrationId, runner));
	}

	private static boolean paused(String migrationId, String runner, List<Boolean> paused) {
		if (paused.isEmpty()) {
			throw new IllegalStateException(
					"Backfill of migration '" + migrationId + "' is no longer run by " + runner);
		}
		return paused.get(0);
	}

	void finishVerifying(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(FINISH_VERIFYING), migrationId);
	}

	/**
	 * Drop the verification in flight, if any, so that the next run starts a new one:
	 * some instance may have written the old side only.
	 * @param migrationId the migration
	 * @return {@code true} if a verification was in flight
	 */
	boolean restartVerification(String migrationId) {
		return this.jdbcTemplate.update(this.tables.qualify(RESTART_VERIFICATION), migrationId) == 1;
	}

	void recordError(String migrationId, int count, String error) {
		this.jdbcTemplate.update(this.tables.qualify(RECORD_ERROR), count, error, migrationId);
	}

	void pause(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(PAUSE), migrationId);
	}

	void stopFailed(String migrationId, String failure) {
		this.jdbcTemplate.update(this.tables.qualify(STOP_FAILED), failure, migrationId);
	}

	boolean resume(String migrationId) {
		return this.jdbcTemplate.update(this.tables.qualify(RESUME), migrationId) == 1;
	}

	void requestVerification(String migrationId) {
		this.jdbcTemplate.update(this.tables.qualify(REQUEST_VERIFICATION), migrationId);
	}

	void insertVerification(BackfillVerification verification) {
		this.jdbcTemplate.update(this.tables.qualify(INSERT_VERIFICATION), verification.migrationId(),
				verification.runner(), Timestamp.from(verification.startedAt()), verification.passes(),
				verification.rowsChecked(), verification.rowsRepaired(), verification.rowsDisagreeing(),
				verification.succeeded(), verification.fleet());
	}

	@Nullable BackfillVerification latestVerification(String migrationId) {
		List<BackfillVerification> found = this.jdbcTemplate.query(this.tables.qualify(LATEST_VERIFICATION),
				BackfillRepository::verification, migrationId);
		return found.isEmpty() ? null : found.get(0);
	}

	private static StoredProgress progress(ResultSet rs, int row) throws SQLException {
		double eta = rs.getDouble("eta_seconds");
		// a backfill asked to pause estimates no time left, from the moment it is asked
		Duration etaDuration = (rs.wasNull() || rs.getBoolean("paused")) ? null
				: Duration.ofMillis((long) (eta * 1000));
		BackfillProgress progress = new BackfillProgress(rs.getString("migration_id"),
				BackfillState.fromValue(rs.getString("state")), rs.getBoolean("paused"), rs.getString("runner"),
				rs.getLong("rows_done"), rs.getLong("rows_updated"), rs.getObject("rows_estimated", Long.class),
				rs.getObject("rate", Double.class), etaDuration, rs.getObject("batch_size", Integer.class),
				rs.getLong("batches"), rs.getString("last_key"), rs.getString("upper_bound"),
				rs.getString("resumed_from"), rs.getString("throttle_reason"), rs.getLong("errors"),
				rs.getString("last_error"), instant(rs.getTimestamp("last_error_at")),
				instant(rs.getTimestamp("started_at")), instant(rs.getTimestamp("copied_at")),
				rs.getTimestamp("updated_at").toInstant(), null, verificationProgress(rs));
		return new StoredProgress(progress, rs.getBoolean("verify_requested"));
	}

	private static @Nullable VerificationProgress verificationProgress(ResultSet rs) throws SQLException {
		Integer pass = rs.getObject("verify_pass", Integer.class);
		if (pass == null) {
			return null;
		}
		Double eta = rs.getObject("verify_eta_seconds", Double.class);
		return new VerificationProgress(pass, instant(rs.getTimestamp("verify_started_at")),
				rs.getString("verify_upper_bound"), rs.getString("verify_last_key"), rs.getLong("verify_rows_checked"),
				rs.getObject("verify_rows_to_check", Long.class), rs.getLong("verify_rows_disagreeing"),
				rs.getLong("verify_rows_repaired"), rs.getObject("verify_rate", Double.class),
				(eta != null) ? Duration.ofMillis((long) (eta * 1000)) : null);
	}

	private static BackfillVerification verification(ResultSet rs, int row) throws SQLException {
		return new BackfillVerification(rs.getString("migration_id"), rs.getString("runner"),
				rs.getTimestamp("started_at").toInstant(), rs.getTimestamp("finished_at").toInstant(),
				rs.getInt("passes"), rs.getLong("rows_checked"), rs.getLong("rows_repaired"),
				rs.getLong("rows_disagreeing"), rs.getBoolean("succeeded"), rs.getString("fleet"));
	}

	private static @Nullable Instant instant(@Nullable Timestamp timestamp) {
		return (timestamp != null) ? timestamp.toInstant() : null;
	}

	/**
	 * Progress as stored, with the flags only the runner needs.
	 *
	 * @param progress the progress
	 * @param verifyRequested whether a re-verification was asked for
	 */
	record StoredProgress(BackfillProgress progress, boolean verifyRequested) {

	}

	/**
	 * A committed batch, as its checkpoint records it.
	 *
	 * @param lastKey the batch's last key
	 * @param rows keys walked
	 * @param changed rows rewritten, inserted or deleted (repaired, for a verification)
	 * @param disagreeing rows found disagreeing (verification only)
	 * @param batchSize the batch size the walk ran with
	 * @param rate rows per second in this run, or {@code null}
	 * @param etaSeconds seconds left, or {@code null} if unknown
	 * @param pacedBy what limits the copy's pace now, in words, or {@code null}
	 */
	record Checkpoint(String lastKey, long rows, long changed, long disagreeing, int batchSize, @Nullable Double rate,
			@Nullable Double etaSeconds, @Nullable String pacedBy) {

	}

}
