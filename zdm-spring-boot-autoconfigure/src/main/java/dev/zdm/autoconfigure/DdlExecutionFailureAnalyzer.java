package dev.zdm.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import dev.zdm.internal.ddl.DdlExecutionException;
import dev.zdm.internal.fleet.PoolConnections;

/**
 * Reports a {@link DdlExecutionException} at start-up: which statement of which migration
 * was given up, why, and what to do about it; or, if the application's pool had no
 * connection left for the step, how large to make the pool.
 */
class DdlExecutionFailureAnalyzer extends AbstractFailureAnalyzer<DdlExecutionException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, DdlExecutionException cause) {
		if (PoolConnections.ranOut(cause)) {
			// nothing wrong with the statement: the pool had no connection left for it
			return new FailureAnalysis("zdm could not run a DDL step: " + cause.getMessage(), PoolConnections.ADVICE,
					cause);
		}
		String description = "zdm gave up a DDL statement: " + cause.getMessage()
				+ "\nThe statement was not applied. Statements of the migration applied before it are recorded "
				+ "(zdm_ddl_statement) and are not run again.";
		String action = cause.getBlockers().isEmpty()
				? "Correct the statement in its script (a script's statements that have been applied must stay as "
						+ "they are) and start the application again: zdm resumes with this statement."
				: "End or fix the session(s) holding the lock, named above (often a transaction left open), then "
						+ "start the application again: zdm resumes with this statement. If the lock is held by "
						+ "ordinary traffic, raise zdm.ddl.max-attempts (1 or more) or zdm.ddl.max-backoff so that "
						+ "zdm retries for longer; raise zdm.ddl.lock-timeout only if the application's queries may "
						+ "queue behind the statement for that long.";
		return new FailureAnalysis(description, action, cause);
	}

}
