package dev.zdm.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import dev.zdm.internal.ddl.DdlExecutionException;

/**
 * Reports a {@link DdlExecutionException} at start-up: which statement of which migration
 * was given up, why, and what to do about it.
 */
class DdlExecutionFailureAnalyzer extends AbstractFailureAnalyzer<DdlExecutionException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, DdlExecutionException cause) {
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
