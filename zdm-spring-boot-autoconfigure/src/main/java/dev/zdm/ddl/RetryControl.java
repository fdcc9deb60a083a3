package dev.zdm.ddl;

import java.time.Duration;
import java.util.List;

import dev.zdm.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.locks.BlockingSession;

/**
 * How the {@link LockSafeExecutor} retries one step's statements: up to
 * {@code max-attempts}, or until each gets its lock (the background expand); and whether
 * it must stop, between attempts or during a pause. Subclasses are told of every lock
 * timeout.
 */
class RetryControl {

	/**
	 * Return a control of up to {@code max-attempts} attempts per statement, stopped only
	 * by an interrupt.
	 * @return a new control
	 */
	static RetryControl bounded() {
		return new RetryControl(false);
	}

	private final boolean untilApplied;

	private final Object monitor = new Object();

	private volatile boolean stopRequested;

	RetryControl(boolean untilApplied) {
		this.untilApplied = untilApplied;
	}

	/**
	 * Whether a statement that times out on a lock is retried until it gets it, whatever
	 * {@code max-attempts}.
	 */
	boolean untilApplied() {
		return this.untilApplied;
	}

	boolean stopRequested() {
		return this.stopRequested;
	}

	void requestStop() {
		this.stopRequested = true;
		synchronized (this.monitor) {
			this.monitor.notifyAll();
		}
	}

	/**
	 * Pause, returning early if a stop is requested.
	 * @param pause how long
	 * @return {@code false} if a stop was requested
	 */
	boolean pause(Duration pause) {
		long deadline = System.nanoTime() + pause.toNanos();
		synchronized (this.monitor) {
			while (!this.stopRequested) {
				long left = deadline - System.nanoTime();
				if (left <= 0) {
					return true;
				}
				try {
					this.monitor.wait(Math.max(1, left / 1_000_000), 0);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					this.stopRequested = true;
				}
			}
		}
		return false;
	}

	/**
	 * Called when an attempt timed out waiting for a lock.
	 * @param key the statement
	 * @param attempt the attempt
	 * @param blockers the sessions that blocked it
	 * @param report the blockers, described
	 */
	void lockTimedOut(StatementKey key, int attempt, List<BlockingSession> blockers, String report) {
	}

	/**
	 * Called when a statement starts or is applied.
	 * @param key the statement
	 * @param applied whether it is now applied
	 */
	void statement(StatementKey key, boolean applied) {
	}

}
