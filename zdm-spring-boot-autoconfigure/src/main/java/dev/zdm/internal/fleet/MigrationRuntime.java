package dev.zdm.internal.fleet;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * One migration as this instance runs it: the status its last heartbeat decided, and the
 * effective phase fixed for the length of each transaction.
 */
final class MigrationRuntime {

	private static final Pattern LINE_BREAKS = Pattern.compile("\\s*\\R\\s*");

	// after comments: INSERT INTO t, UPDATE t, DELETE FROM t, or a SELECT's first FROM t
	private static final Pattern STATEMENT = Pattern.compile(
			"(?:\\s|/\\*.*?\\*/)*(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|SELECT\\b.*?\\bFROM)\\s+([\\w.\"]+)",
			Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

	private volatile MigrationDefinition migration;

	private volatile boolean expandChecked;

	private final Object transactionKey = new Object();

	private volatile @Nullable MigrationStatus current;

	private final SameIdWatch sameId = new SameIdWatch();

	private volatile @Nullable Instant askedForReadNewAt;

	private volatile @Nullable Instant connectionLostAt;

	private volatile boolean unreachable;

	MigrationRuntime(MigrationDefinition migration) {
		this.migration = migration;
	}

	MigrationDefinition migration() {
		return this.migration;
	}

	boolean expandChecked() {
		return this.expandChecked;
	}

	void expanded(MigrationDefinition validated) {
		this.migration = validated;
		this.expandChecked = true;
	}

	void requested(Phase phase) {
		this.migration = this.migration.toBuilder().requestedPhase(phase).build();
	}

	@Nullable MigrationStatus current() {
		return this.current;
	}

	void decided(MigrationStatus status) {
		this.current = status;
		this.connectionLostAt = null;
		this.unreachable = false;
	}

	/**
	 * Whether this migration's last heartbeat failed because the database could not be
	 * reached at all ({@link #unreachable(Throwable)}), rather than on its answer.
	 * @return {@code true} if it did
	 */
	boolean lastFailureUnreachable() {
		return this.unreachable;
	}

	/**
	 * Return when this migration's last heartbeat failed for want of a connection to the
	 * database (the pool's connection timeout, a connection broken), if it did.
	 * @return the time, or {@code null} if its last heartbeat succeeded or failed for
	 * another reason
	 */
	@Nullable Instant connectionLostAt() {
		return this.connectionLostAt;
	}

	/**
	 * Return when this instance first asked for {@code read-new} or later, since it last
	 * asked for an earlier phase, as the database's clock read it at that heartbeat.
	 * @return the time, or {@code null} if it has not asked yet
	 */
	@Nullable Instant askedForReadNewAt() {
		return this.askedForReadNewAt;
	}

	/**
	 * Remember the first heartbeat that asked for {@code read-new} or later.
	 * @param heartbeatAt the heartbeat's time
	 */
	void heartbeatWritten(Instant heartbeatAt) {
		if (!PhasePolicy.asksForReadNew(this.migration)) {
			this.askedForReadNewAt = null;
		}
		else if (this.askedForReadNewAt == null) {
			this.askedForReadNewAt = heartbeatAt;
		}
	}

	/**
	 * Return what tells another process's writes of this instance's row from its own.
	 */
	SameIdWatch sameId() {
		return this.sameId;
	}

	MigrationStatus status() {
		MigrationStatus status = this.current;
		if (status == null) {
			throw new IllegalStateException(
					"zdm has not joined the fleet for migration '" + this.migration.id() + "' yet");
		}
		return status;
	}

	/**
	 * Return the effective phase. Inside a transaction the first call decides the phase
	 * for the rest of that transaction, whatever the heartbeat decides meanwhile.
	 * @param decide the phase to route by, given the last heartbeat's status
	 * @return the effective phase
	 */
	Phase effectivePhase(Function<MigrationStatus, Phase> decide) {
		if (!TransactionSynchronizationManager.isSynchronizationActive()) {
			return decide.apply(status());
		}
		Phase bound = (Phase) TransactionSynchronizationManager.getResource(this.transactionKey);
		if (bound != null) {
			return bound;
		}
		Phase phase = decide.apply(status());
		TransactionSynchronizationManager.bindResource(this.transactionKey, phase);
		TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

			@Override
			public void afterCompletion(int status) {
				TransactionSynchronizationManager.unbindResourceIfPossible(MigrationRuntime.this.transactionKey);
			}

		});
		return phase;
	}

	void failed(RuntimeException ex) {
		this.connectionLostAt = connectionLost(ex) ? Instant.now() : null;
		this.unreachable = unreachable(ex);
		MigrationStatus status = this.current;
		if (status != null) {
			this.current = new MigrationStatus(status.migration(), status.instanceId(), status.effective(),
					status.heldBackReason(), status.fleet(), status.state(), status.decidedAt(), describe(ex));
		}
	}

	private static boolean connectionLost(Throwable ex) {
		return anyCause(ex,
				(cause) -> cause instanceof CannotGetJdbcConnectionException
						|| cause instanceof SQLTransientConnectionException
						|| cause instanceof SQLNonTransientConnectionException
						|| (cause instanceof SQLException sql && noConnection(sql.getSQLState())));
	}

	// whether a failure or one of its causes matches, the first failure of a transaction
	// whose rollback failed too included
	private static boolean anyCause(Throwable ex, Predicate<Throwable> matches) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (matches.test(cause)) {
				return true;
			}
			if (cause instanceof TransactionSystemException rollback && rollback.getApplicationException() != null
					&& anyCause(rollback.getApplicationException(), matches)) {
				return true;
			}
		}
		return false;
	}

	// 08: a connection exception; 57P01 to 57P03: the server shuts down, crashed, or
	// cannot take connections yet
	private static boolean noConnection(@Nullable String sqlState) {
		return sqlState != null && (sqlState.startsWith("08") || sqlState.startsWith("57P0"));
	}

	/**
	 * Describe why a heartbeat failed, by its root cause: the innermost
	 * {@link SQLException}'s message (PostgreSQL's error, as {@code ERROR: could not
	 * extend file ...: No space left on device}) and SQLSTATE, then the statement's name
	 * ({@code INSERT INTO zdm_instance}), never its text, which Spring's message puts
	 * first and which runs to twenty lines. When the heartbeat's transaction could not
	 * even be rolled back (its connection was gone), by what failed first, which the
	 * rollback's failure would hide.
	 * @param ex the failure
	 * @return the description, on one line
	 */
	static String describe(Throwable ex) {
		if (ex instanceof TransactionSystemException rollback && rollback.getApplicationException() != null) {
			return describe(rollback.getApplicationException()) + " (then " + rollback.getMessage() + ")";
		}
		SQLException sql = innermostSqlException(ex);
		Throwable root = (sql != null) ? sql : rootCause(ex);
		String message = oneLine(root.getMessage());
		if (message.isEmpty()) {
			message = (root != ex && !oneLine(ex.getMessage()).contains("SQL [")) ? oneLine(ex.getMessage()) : "";
			message = (message.isEmpty() ? "" : message + ": ") + root.getClass().getSimpleName();
		}
		List<String> details = new ArrayList<>();
		if (sql != null && sql.getSQLState() != null) {
			details.add("SQLSTATE " + sql.getSQLState());
		}
		String statement = statementName(ex);
		if (statement != null) {
			details.add("in " + statement);
		}
		return details.isEmpty() ? message : message + " (" + String.join(", ", details) + ")";
	}

	/**
	 * Whether a heartbeat failed on the connection itself, not on the database's answer:
	 * a connection exception (SQLSTATE class 08), a server shutting down, crashed or not
	 * taking connections yet (57P01 to 57P03), or a socket that could not connect. A full
	 * disk, a pool with no free connection or a refused statement is not: the database is
	 * reachable then, and the failure says what is wrong with it.
	 * @param ex the failure
	 * @return {@code true} if the database is unreachable
	 */
	static boolean unreachable(Throwable ex) {
		return anyCause(ex,
				(cause) -> cause instanceof ConnectException || cause instanceof UnknownHostException
						|| cause instanceof NoRouteToHostException
						|| (cause instanceof SQLException sql && noConnection(sql.getSQLState())));
	}

	private static @Nullable SQLException innermostSqlException(Throwable ex) {
		SQLException innermost = null;
		for (Throwable cause = ex; cause != null && cause.getCause() != cause; cause = cause.getCause()) {
			if (cause instanceof SQLException sqlException) {
				innermost = sqlException;
			}
		}
		return innermost;
	}

	private static Throwable rootCause(Throwable ex) {
		Throwable root = ex;
		while (root.getCause() != null && root.getCause() != root) {
			root = root.getCause();
		}
		return root;
	}

	private static String oneLine(@Nullable String message) {
		return (message != null) ? LINE_BREAKS.matcher(message.strip()).replaceAll("; ") : "";
	}

	// the statement's kind and table, from the "SQL [...]" Spring's message quotes
	private static @Nullable String statementName(Throwable ex) {
		for (Throwable cause = ex; cause != null && cause.getCause() != cause; cause = cause.getCause()) {
			String message = cause.getMessage();
			int start = (message != null) ? message.indexOf("SQL [") : -1;
			if (start >= 0) {
				Matcher matcher = STATEMENT.matcher(message.substring(start + 5));
				if (!matcher.lookingAt()) {
					return null;
				}
				String verb = matcher.group(1).toUpperCase(Locale.ROOT);
				return (verb.startsWith("SELECT") ? "SELECT ... FROM" : verb.replaceAll("\\s+", " ")) + " "
						+ matcher.group(2);
			}
		}
		return null;
	}

}
