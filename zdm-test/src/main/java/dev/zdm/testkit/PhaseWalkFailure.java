package dev.zdm.testkit;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.Phase;

/**
 * A walk failed: the phase it failed at, and why.
 */
public class PhaseWalkFailure extends AssertionError {

	private final Phase phase;

	/**
	 * Create a failure.
	 * @param phase the phase the walk failed at
	 * @param where the instances that ran at the time, for example
	 * {@code instance walk-dual-write}
	 * @param message what failed
	 * @param cause the failure underneath, if any
	 */
	public PhaseWalkFailure(Phase phase, String where, String message, @Nullable Throwable cause) {
		super("zdm walk failed at phase " + phase + " (" + where + "): " + message, cause);
		this.phase = phase;
	}

	/**
	 * Return the phase the walk failed at.
	 * @return the phase
	 */
	public Phase getPhase() {
		return this.phase;
	}

}
