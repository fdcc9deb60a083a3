package dev.zdm.internal.backfill;

import java.io.IOException;
import java.sql.SQLException;

import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

/**
 * Tells which failures of a batch a retry can mend, and describes a failure in one line
 * for the log and the stored progress.
 */
public final class BackfillErrors {

	private static final String LOCK_NOT_AVAILABLE = "55P03";

	private static final String QUERY_CANCELED = "57014";

	private static final String DEADLOCK_DETECTED = "40P01";

	private static final String SERIALIZATION_FAILURE = "40001";

	private static final String CONNECTION_EXCEPTION = "08";

	private static final String OPERATOR_INTERVENTION = "57";

	private static final String DATA_EXCEPTION = "22";

	private static final String INTEGRITY_CONSTRAINT_VIOLATION = "23";

	private static final String SYNTAX_OR_ACCESS_RULE = "42";

	private static final String NOT_SUPPORTED = "0A";

	private static final String PLPGSQL_ERROR = "P0";

	private static final String INSUFFICIENT_RESOURCES = "53";

	private static final String DISK_FULL = "53100";

	private static final String OUT_OF_MEMORY = "53200";

	private static final String TOO_MANY_CONNECTIONS = "53300";

	private static final String RESUMES = "the run is retried from its checkpoint meanwhile and the copy resumes by "
			+ "itself once the database can serve it again; nothing copied is lost";

	private BackfillErrors() {
	}

	/**
	 * Whether a failed batch may be retried: it timed out on a lock or a statement
	 * timeout, or lost a deadlock or a serialization conflict.
	 * @param ex the failure
	 * @return {@code true} if a retry can mend it
	 */
	static boolean isRetryable(DataAccessException ex) {
		String state = sqlState(ex);
		return LOCK_NOT_AVAILABLE.equals(state) || QUERY_CANCELED.equals(state) || DEADLOCK_DETECTED.equals(state)
				|| SERIALIZATION_FAILURE.equals(state);
	}

	/**
	 * Whether a failed batch timed out waiting for a lock: another transaction holds a
	 * row (or the table) the batch must lock. Waiting for it is a hold-back, not a
	 * failure of the batch.
	 * @param ex the failure
	 * @return {@code true} for {@code lock_not_available}
	 */
	static boolean isLockTimeout(DataAccessException ex) {
		return LOCK_NOT_AVAILABLE.equals(sqlState(ex));
	}

	/**
	 * Whether a failed batch failed on a row's value: a data exception (a value the new
	 * column cannot hold, an input a function refuses) or a constraint the row breaks. A
	 * smaller batch finds the row.
	 * @param ex the failure
	 * @return {@code true} for SQLSTATE classes 22 and 23
	 */
	static boolean isRowError(DataAccessException ex) {
		String state = sqlState(ex);
		return state != null && (state.startsWith(DATA_EXCEPTION) || state.startsWith(INTEGRITY_CONSTRAINT_VIOLATION));
	}

	/**
	 * Whether a failed batch failed on a value (class 22: one the new column cannot hold,
	 * an {@code up} that cannot convert it): the same row fails every time until it
	 * changes, unlike a constraint a concurrent write may have broken for a moment.
	 * @param ex the failure
	 * @return {@code true} for a data exception
	 */
	static boolean isValueError(DataAccessException ex) {
		String state = sqlState(ex);
		return state != null && state.startsWith(DATA_EXCEPTION);
	}

	/**
	 * Whether a failure means the run's session is gone or unusable (a connection
	 * failure, the server shutting down, or a failure without a SQL state): the run ends,
	 * and the next one resumes from the checkpoint, rather than spending the failure
	 * budget on a database that is away.
	 * @param ex the failure
	 * @return {@code true} if the session is lost
	 */
	static boolean isSessionLost(DataAccessException ex) {
		String state = sqlState(ex);
		return state == null || state.startsWith(CONNECTION_EXCEPTION)
				|| (state.startsWith(OPERATOR_INTERVENTION) && !QUERY_CANCELED.equals(state));
	}

	/**
	 * Whether a statement failed because the database refuses it as written, whatever the
	 * moment: a syntax or access rule (class 42: a function or operator the key's type
	 * has not, a column or table gone, a privilege missing), a feature not supported
	 * (0A), a value or constraint (22, 23), or an exception raised by a trigger or
	 * function (P0). Retrying cannot mend it, unlike a database away, full of sessions,
	 * read-only for a failover or busy with locks.
	 * @param ex the failure
	 * @return {@code true} for those classes
	 */
	static boolean isRefused(DataAccessException ex) {
		String state = sqlState(ex);
		return isRowError(ex) || (state != null && (state.startsWith(SYNTAX_OR_ACCESS_RULE)
				|| state.startsWith(NOT_SUPPORTED) || state.startsWith(PLPGSQL_ERROR)));
	}

	/**
	 * Say why a backfill stopped in the {@code failed} state, with its last error and
	 * what to do: the words of every such stop, a batch's or a run's.
	 * @param id the migration
	 * @param why what failed how often
	 * @param ex the last failure
	 * @return the text recorded as the backfill's last error
	 */
	static String stopped(String id, String why, Throwable ex) {
		return "backfill stopped: " + why + "; last error: " + describe(ex) + ". Mend the cause, then resume with "
				+ "POST /actuator/zdm/" + id + "/resume (or BackfillService#resume)";
	}

	/**
	 * Say what a failure for want of a resource on the database server means and what to
	 * do (SQLSTATE class 53, insufficient resources: a full disk, no memory, no
	 * connection slot left), found anywhere in its causes (a connection refused with
	 * {@code too many clients} comes wrapped by the pool).
	 * @param ex the failure
	 * @return the advice, a sentence to follow the failure's description, or {@code null}
	 * for another failure
	 */
	static @Nullable String insufficientResources(Throwable ex) {
		for (Throwable cause = ex; cause != null && cause.getCause() != cause; cause = cause.getCause()) {
			String state = (cause instanceof SQLException sqlException) ? sqlException.getSQLState() : null;
			if (state == null || !state.startsWith(INSUFFICIENT_RESOURCES)) {
				continue;
			}
			return switch (state) {
				case DISK_FULL -> "The database's disk is full (SQLSTATE 53100, disk_full): free space on it (old WAL "
						+ "kept by a replication slot, logs, bloat) or grow it; " + RESUMES;
				case OUT_OF_MEMORY -> "The database server ran out of memory (SQLSTATE 53200, out_of_memory): lower "
						+ "its load or work_mem, or give it more memory; " + RESUMES;
				case TOO_MANY_CONNECTIONS -> "The database has no connection slot left (SQLSTATE 53300, "
						+ "too_many_connections: max_connections is reached): end idle sessions, lower the pools' "
						+ "sizes across the fleet, or raise max_connections; " + RESUMES;
				default -> "The database lacks a resource (SQLSTATE " + state + ", class 53, insufficient "
						+ "resources): see its message above and give the database what it lacks; " + RESUMES;
			};
		}
		return null;
	}

	// the SQLSTATE of the failure's most specific cause, or null if it has none
	private static @Nullable String sqlState(DataAccessException ex) {
		return (ex.getMostSpecificCause() instanceof SQLException sqlException) ? sqlException.getSQLState() : null;
	}

	/**
	 * Describe a failure by its most specific cause.
	 * @param ex the failure
	 * @return its type and message
	 */
	static String describe(Throwable ex) {
		Throwable cause = (ex instanceof DataAccessException dataAccess) ? dataAccess.getMostSpecificCause() : ex;
		String message = message(cause);
		if (!message.isEmpty()) {
			return cause.getClass().getSimpleName() + ": " + message;
		}
		// a cause that says nothing, as the EOFException of a connection the server
		// closed: the innermost failure around it that does, and the cause's type
		Throwable described = null;
		for (Throwable outer = ex; outer != null && outer != cause; outer = outer.getCause()) {
			if (!message(outer).isEmpty()) {
				described = outer;
			}
		}
		String lost = (cause instanceof IOException) ? "; the connection to the database was lost" : "";
		return (described != null) ? described.getClass().getSimpleName() + ": " + message(described) + " ("
				+ cause.getClass().getSimpleName() + lost + ")" : cause.getClass().getSimpleName() + lost;
	}

	// the description goes inside a sentence: a message's own full stop would double it
	private static String message(Throwable ex) {
		String message = (ex.getMessage() != null) ? ex.getMessage().strip() : "";
		if (message.endsWith(".") && !message.endsWith("..")) {
			message = message.substring(0, message.length() - 1);
		}
		return message;
	}

}
