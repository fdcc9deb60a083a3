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
