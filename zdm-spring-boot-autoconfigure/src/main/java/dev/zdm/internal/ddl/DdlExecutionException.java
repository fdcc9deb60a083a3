package dev.zdm.internal.ddl;

import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.locks.BlockingSession;

/**
 * Thrown when a DDL statement fails for good: an error other than a lock timeout, or a
 * lock timeout on every attempt. The message names the migration, the statement and,
 * after lock timeouts, the sessions that blocked it.
 */
public class DdlExecutionException extends RuntimeException {

	private final List<BlockingSession> blockers;

	/**
	 * Create an exception.
	 * @param message what failed
	 * @param blockers the sessions that blocked the last attempt, if it timed out on a
	 * lock
	 * @param cause the database's error, if any
	 */
	public DdlExecutionException(String message, List<BlockingSession> blockers, @Nullable Throwable cause) {
		super(message, cause);
		this.blockers = List.copyOf(blockers);
	}

	/**
	 * Return the sessions that blocked the last attempt.
	 * @return the blockers, empty unless the statement timed out on a lock
	 */
	public List<BlockingSession> getBlockers() {
		return this.blockers;
	}

}
