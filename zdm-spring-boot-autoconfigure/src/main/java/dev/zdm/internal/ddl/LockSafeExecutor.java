package dev.zdm.internal.ddl;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.zip.CRC32;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.SqlName;
import dev.zdm.internal.ddl.script.SqlToken;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.internal.locks.LockInspector;

/**
 * Runs DDL statements so that they never stall the application's queries for much longer
 * than the lock timeout: each statement runs with {@code lock_timeout} (and
 * {@code statement_timeout} if set) in a transaction of its own, or outside any
 * transaction if PostgreSQL requires it ({@code CREATE INDEX CONCURRENTLY}), and is
 * retried with exponential backoff and jitter when it times out on a lock. While a
 * statement waits, the sessions blocking it are sampled from {@code pg_stat_activity}, so
 * that a timeout is logged and recorded with who blocked it. A concurrent index build
 * that fails leaves no invalid index behind: it is dropped concurrently.
 */
public class LockSafeExecutor implements DisposableBean {

	// SQLSTATE 42501, also of "must be owner of table"
	private static final String INSUFFICIENT_PRIVILEGE = "42501";

	private static final Log logger = LogFactory.getLog(LockSafeExecutor.class);

	private static final String LOCK_NOT_AVAILABLE = "55P03";

	private static final String DEADLOCK_DETECTED = "40P01";

	private final DdlSettings settings;

	private final DdlHistoryRepository history;

	private final LockInspector lockInspector;

	private final DdlCatalog catalog;

	private final RandomGenerator random = RandomGenerator.getDefault();

	private volatile DdlListener listener = DdlListener.NONE;

	private final ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-blockers");
		thread.setDaemon(true);
		return thread;
	});

	/**
	 * Create an executor.
	 * @param dataSource the application's data source, for the catalog look-ups
	 * @param settings the lock timeout and retry settings
	 * @param history where attempts, lock timeouts and blockers are recorded
	 * @param lockInspector where the blocking sessions are read from
	 */
	public LockSafeExecutor(DataSource dataSource, DdlSettings settings, DdlHistoryRepository history,
			LockInspector lockInspector) {
		this.settings = settings;
		this.history = history;
		this.lockInspector = lockInspector;
		this.catalog = new DdlCatalog(dataSource);
	}

	/**
	 * Return the settings.
	 * @return the settings
	 */
	public DdlSettings settings() {
		return this.settings;
	}

	/**
	 * Return where attempts, lock timeouts and blockers are recorded.
	 * @return the history
	 */
	DdlHistoryRepository history() {
		return this.history;
	}

	/**
	 * Set the listener told about each statement's attempts, to measure and trace them.
	 * @param listener the listener
	 */
	public void setListener(DdlListener listener) {
		this.listener = listener;
	}

	/**
	 * Run one statement, retrying it while it times out on a lock, and record it as
	 * applied.
	 * @param session the session to run it on
	 * @param key which statement of which migration it is
	 * @param statement the statement
	 * @throws DdlExecutionException if it fails with another error, or times out on every
	 * attempt
	 */
	public void execute(DdlSession session, StatementKey key, DdlStatement statement) {
		execute(session, key, statement, RetryControl.bounded());
	}

	/**
	 * Run one statement, retrying it while it times out on a lock as the control says,
	 * and record it as applied.
	 * @param session the session to run it on
	 * @param key which statement of which migration it is
	 * @param statement the statement
	 * @param control how long to retry, and whether to stop
	 * @throws DdlStoppedException if a stop was requested; the statement is not applied
	 * @throws DdlExecutionException if it fails with another error, or times out on every
	 * attempt
	 */
	void execute(DdlSession session, StatementKey key, DdlStatement statement, RetryControl control) {
		DdlListener.Execution execution = this.listener.statementStarting(key, statement);
		try {
			executeAttempts(session, key, statement, control, execution);
			execution.finished(null);
		}
		catch (RuntimeException ex) {
			execution.finished(ex);
			throw ex;
		}
	}

	private void executeAttempts(DdlSession session, StatementKey key, DdlStatement statement, RetryControl control,
			DdlListener.Execution execution) {
		this.history.statementStarted(key, statement.sql(), checksum(statement.sql()));
		String allowed = statement.allowedDescription();
		if (allowed != null) {
			this.history.allowed(key, allowed);
		}
		control.statement(key, false);
		ConcurrentIndex index = ConcurrentIndex.of(statement);
		if (alreadyDone(key, statement, index, control)) {
			this.history.applied(key);
			control.statement(key, true);
			return;
		}
		Set<String> othersInvalid = (index != null) ? invalidIndexesOfOthers(index) : Set.of();
		for (int attempt = 1;; attempt++) {
			if (control.stopRequested()) {
				String when = (attempt == 1) ? "stopped before it ran: " : "stopped after " + (attempt - 1)
						+ ((attempt == 2) ? " attempt" : " attempts") + ", before the next: ";
				stopped(key, control, when + control.stopReason());
				throw new DdlStoppedException(key + " " + when + control.stopReason(), null);
			}
			execution.attemptStarting(attempt);
			this.history.attempt(key);
			BlockerWatch watch = watchBlockers(session.pid());
			long started = System.nanoTime();
			try {
				if (index != null) {
					dropLeftovers(session, index, othersInvalid);
				}
				run(session, key, statement);
				control.statement(key, true);
				return;
			}
			catch (SQLException ex) {
				Duration waited = Duration.ofNanos(System.nanoTime() - started);
				List<BlockingSession> blockers = watch.stop();
				if (control.stopRequested()) {
					String leftover = (index != null) ? cleanUp(session, index, othersInvalid, false) : "";
					stopped(key, control, "cancelled: " + control.stopReason() + leftover);
					throw new DdlStoppedException(key + " was cancelled (" + control.stopReason() + "); nothing "
							+ "of it is applied and the next run starts it again", ex);
				}
				boolean lockTimeout = isLockTimeout(ex);
				boolean lastAttempt = !lockTimeout
						|| (!control.untilApplied() && attempt >= this.settings.maxAttempts());
				String leftover = (index != null) ? cleanUp(session, index, othersInvalid, lastAttempt) : "";
				if (!lockTimeout) {
					String message = key + " failed: " + ex.getMessage() + leftover + " (statement: "
							+ statement.abbreviated() + ")"
							+ (INSUFFICIENT_PRIVILEGE.equals(ex.getSQLState())
									? ". The role that runs zdm's DDL lacks a privilege the statement needs. "
											+ DdlRole.action()
									: "");
					this.history.failed(key, String.valueOf(ex.getMessage()) + leftover);
					throw new DdlExecutionException(message, List.of(), ex);
				}
				execution.lockTimeout(attempt, waited, blockers);
				String report = DdlStatus.LockTimeout.describe(blockers);
				this.history.lockTimeout(key, attempt, waited, blockers, report);
				control.lockTimedOut(key, attempt, blockers, report);
				if (lastAttempt) {
					String message = key + " timed out waiting for a lock on all " + attempt
							+ " attempts (lock_timeout " + this.settings.lockTimeout().toMillis()
							+ " ms); last attempt " + report + leftover + " (statement: " + statement.abbreviated()
							+ ")";
					this.history.failed(key, message);
					throw new DdlExecutionException(message, blockers, ex);
				}
				Duration pause = this.settings.backoff(attempt, this.random);
				// the server waited at most lock_timeout; the instance's own count holds
				// the
				// round trips too, which a loaded host lengthens
				logger.warn("zdm: " + key + " timed out waiting for a lock (lock_timeout "
						+ this.settings.lockTimeout().toMillis() + " ms; the attempt took " + waited.toMillis()
						+ " ms, round trips included) (attempt " + attempt
						+ (control.untilApplied() ? ", retried until it gets the lock"
								: " of " + this.settings.maxAttempts())
						+ "), retrying in " + pause.toMillis() + " ms; " + report);
				control.pause(pause);
			}
			finally {
				watch.stop();
			}
		}
	}

	// A restarted step finds the work of a run that died: a concurrent build finished (or
	// still running in the
	// dead instance's backend), or a constraint already validated. Neither is started
	// over.
	private boolean alreadyDone(StatementKey key, DdlStatement statement, @Nullable ConcurrentIndex index,
			RetryControl control) {
		if (index != null && index.name() != null) {
			for (;;) {
				DdlCatalog.IndexState state = this.catalog.indexState(index.table().sql(), index.name());
				if (state == DdlCatalog.IndexState.VALID) {
					logger.info(
							"zdm: " + key + ": index " + index.name() + " is already built and valid; not built again");
					return true;
				}
				if (state != DdlCatalog.IndexState.BUILDING) {
					return false;
				}
				logger.info("zdm: " + key + ": index " + index.name()
						+ " is being built by another session; waiting for it");
				if (!control.pause(Duration.ofSeconds(1))) {
					stopped(key, control, "stopped while another session built the index: " + control.stopReason());
					throw new DdlStoppedException(key + " stopped while another session built the index", null);
				}
			}
		}
		ValidatedConstraint constraint = ValidatedConstraint.of(statement);
		if (constraint != null && this.catalog.isConstraintValidated(constraint.table().sql(), constraint.name())) {
			logger.info(
					"zdm: " + key + ": constraint " + constraint.name() + " is already validated; not validated again");
			return true;
		}
		return false;
	}

	@Override
	public void destroy() {
		this.watcher.shutdownNow();
	}

	// A paused step's statement is recorded as paused, one stopped by a shutdown as
	// failed: the next run starts either again.
	private void stopped(StatementKey key, RetryControl control, String reason) {
		if (control.pauseRequested()) {
			this.history.paused(key, reason);
		}
		else {
			this.history.failed(key, reason);
		}
	}

	private void run(DdlSession session, StatementKey key, DdlStatement statement) throws SQLException {
		Connection connection = session.connection();
		if (statement.isNonTransactional()) {
			session.setTimeouts(this.settings, false);
			boolean skipped;
			try (Statement jdbc = connection.createStatement()) {
				jdbc.execute(statement.sql());
				skipped = SkippedExisting.in(jdbc.getWarnings());
			}
			finally {
				session.resetTimeouts();
			}
			this.history.applied(key, skipped);
			return;
		}
		connection.setAutoCommit(false);
		try (Statement jdbc = connection.createStatement()) {
			session.setTimeouts(this.settings, true);
			jdbc.execute(statement.sql());
			this.history.applied(connection, key, SkippedExisting.in(jdbc.getWarnings()));
			connection.commit();
		}
		catch (SQLException | RuntimeException ex) {
			rollback(connection);
			throw ex;
		}
		finally {
			connection.setAutoCommit(true);
		}
	}

	// Invalid indexes of the table that this build did not leave, except one of the
	// build's own name: left by an
	// earlier run, it would make IF NOT EXISTS skip the build.
	private Set<String> invalidIndexesOfOthers(ConcurrentIndex index) {
		Set<String> others = new HashSet<>(this.catalog.invalidIndexes(index.table().sql()));
		others.removeIf((invalid) -> index.name() != null && sameIndex(invalid, index.name()));
		return others;
	}

	// Drops what earlier attempts left; a lock timeout here counts as the attempt's.
	private void dropLeftovers(DdlSession session, ConcurrentIndex index, Set<String> others) throws SQLException {
		for (String invalid : this.catalog.invalidIndexes(index.table().sql())) {
			if (!others.contains(invalid)) {
				dropIndex(session, invalid);
			}
		}
	}

	// After a failed build: drop the invalid index it left, once if the build is retried
	// (the next attempt drops
	// it otherwise), or until it is gone if this was the last attempt.
	private String cleanUp(DdlSession session, ConcurrentIndex index, Set<String> others, boolean lastAttempt) {
		for (int attempt = 1;; attempt++) {
			try {
				dropLeftovers(session, index, others);
				return "";
			}
			catch (SQLException ex) {
				if (!lastAttempt) {
					return "";
				}
				if (!isLockTimeout(ex) || attempt >= this.settings.maxAttempts()) {
					List<String> left = new ArrayList<>(this.catalog.invalidIndexes(index.table().sql()));
					left.removeAll(others);
					logger.error("zdm: could not drop invalid index " + left + " left by a failed concurrent build",
							ex);
					return "; invalid index " + left + " is left behind: drop it with DROP INDEX CONCURRENTLY";
				}
				sleep(this.settings.backoff(attempt, this.random));
			}
		}
	}

	private void dropIndex(DdlSession session, String index) throws SQLException {
		session.setTimeouts(this.settings, false);
		try {
			session.dropIndexConcurrently(index);
		}
		finally {
			session.resetTimeouts();
		}
		logger.info("zdm: dropped invalid index " + index + " left by a failed concurrent build");
	}

	private BlockerWatch watchBlockers(int pid) {
		BlockerWatch watch = new BlockerWatch();
		long interval = Math.max(10, Math.min(250, this.settings.lockTimeout().toMillis() / 4));
		watch.future = this.watcher.scheduleWithFixedDelay(() -> {
			try {
				List<BlockingSession> blockers = this.lockInspector.blockersOf(pid);
				if (!blockers.isEmpty()) {
					watch.seen = blockers;
				}
			}
			catch (RuntimeException ex) {
				logger.debug("zdm: could not sample the sessions blocking pid " + pid, ex);
			}
		}, interval, interval, TimeUnit.MILLISECONDS);
		return watch;
	}

	private static boolean sameIndex(String catalogName, String name) {
		String unqualified = catalogName.substring(catalogName.lastIndexOf('.') + 1);
		return unqualified.replace("\"", "").equals(name);
	}

	private static boolean isLockTimeout(SQLException ex) {
		return LOCK_NOT_AVAILABLE.equals(ex.getSQLState()) || DEADLOCK_DETECTED.equals(ex.getSQLState());
	}

	private static void rollback(Connection connection) {
		try {
			connection.rollback();
		}
		catch (SQLException ex) {
			logger.debug("zdm: rollback failed", ex);
		}
	}

	private static void sleep(Duration pause) {
		try {
			Thread.sleep(pause.toMillis());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new DdlExecutionException("Interrupted while waiting to retry a DDL statement", List.of(), ex);
		}
	}

	/**
	 * Return a statement's checksum, as recorded to tell whether an applied statement has
	 * changed.
	 * @param sql the statement
	 * @return a CRC32 checksum
	 */
	static int checksum(String sql) {
		CRC32 crc = new CRC32();
		crc.update(sql.getBytes(StandardCharsets.UTF_8));
		return (int) crc.getValue();
	}

	private static final class BlockerWatch {

		private volatile List<BlockingSession> seen = List.of();

		private volatile @Nullable ScheduledFuture<?> future;

		List<BlockingSession> stop() {
			ScheduledFuture<?> running = this.future;
			if (running != null) {
				running.cancel(false);
			}
			return this.seen;
		}

	}

	/**
	 * An {@code ALTER TABLE ... VALIDATE CONSTRAINT} statement's table and constraint.
	 */
	private record ValidatedConstraint(SqlName table, String name) {

		static @Nullable ValidatedConstraint of(DdlStatement statement) {
			List<SqlToken> tokens = statement.tokens();
			if (!statement.startsWith("alter", "table")) {
				return null;
			}
			int position = 2;
			if (SqlToken.matchAt(tokens, position, "if", "exists")) {
				position += 2;
			}
			if (SqlToken.isWordAt(tokens, position, "only")) {
				position++;
			}
			int[] end = { -1 };
			SqlName table = SqlName.read(tokens, position, (after) -> end[0] = after);
			int size = (!tokens.isEmpty() && tokens.get(tokens.size() - 1).isSymbol(";")) ? tokens.size() - 1
					: tokens.size();
			if (table == null || !SqlToken.matchAt(tokens, end[0], "validate", "constraint") || end[0] + 3 != size
					|| !tokens.get(end[0] + 2).isName()) {
				return null;
			}
			return new ValidatedConstraint(table, tokens.get(end[0] + 2).value());
		}

	}

	/**
	 * A {@code CREATE INDEX CONCURRENTLY} statement's index and table.
	 */
	private record ConcurrentIndex(@Nullable String name, SqlName table) {

		static @Nullable ConcurrentIndex of(DdlStatement statement) {
			List<SqlToken> tokens = statement.tokens();
			boolean createIndex = statement.startsWith("create", "index")
					|| statement.startsWith("create", "unique", "index");
			if (!statement.isNonTransactional() || !createIndex) {
				return null;
			}
			int on = -1;
			for (int i = 0; i < tokens.size() && on < 0; i++) {
				if (tokens.get(i).isWord("on")) {
					on = i;
				}
			}
			if (on < 0) {
				return null;
			}
			SqlToken before = tokens.get(on - 1);
			boolean named = before.isName() && !before.isWord("concurrently") && !before.isWord("exists");
			String name = named ? before.value() : null;
			int start = (on + 1 < tokens.size() && tokens.get(on + 1).isWord("only")) ? on + 2 : on + 1;
			SqlName table = SqlName.read(tokens, start, (end) -> {
			});
			return (table != null) ? new ConcurrentIndex(name, table) : null;
		}

	}

}
