package dev.zdm.internal.ddl;

import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Thrown when a DDL step stops because the instance is shutting down (or the step was
 * asked to stop): the statement in flight was cancelled and rolled back, nothing of it is
 * applied, and a later run resumes the step.
 */
public class DdlStoppedException extends DdlExecutionException {

	/**
	 * Create an exception.
	 * @param message what stopped
	 * @param cause the cancelled statement's error, if any
	 */
	public DdlStoppedException(String message, @Nullable Throwable cause) {
		super(message, List.of(), cause);
	}

}
