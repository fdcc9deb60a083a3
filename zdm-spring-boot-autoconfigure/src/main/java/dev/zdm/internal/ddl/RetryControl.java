package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.locks.BlockingSession;

/**
 * How the {@link LockSafeExecutor} retries one step's statements: up to
 * {@code max-attempts}, or until each gets its lock (the background expand); and whether
 * it must stop, between attempts or during a pause, because the instance shuts down or
 * the step is paused by the operator. Subclasses are told of every lock timeout.
 */
public class RetryControl {

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

	private volatile @Nullable String pauseReason;

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

	/**
	 * Whether the statements must stop: the instance shuts down, or the step is paused.
	 */
	boolean stopRequested() {
		return this.stopRequested || this.pauseReason != null;
	}

	/**
	 * Whether the instance shuts down.
	 */
	boolean shutdownRequested() {
		return this.stopRequested;
	}

	/**
	 * Whether the step is paused (and the instance does not shut down).
	 */
	boolean pauseRequested() {
		return !this.stopRequested && this.pauseReason != null;
	}

	/**
	 * Say why the statements stop, for the history and the log.
	 */
	String stopReason() {
		String pause = this.pauseReason;
		return (!this.stopRequested && pause != null) ? pause : "the instance is shutting down";
	}

	void requestStop() {
		this.stopRequested = true;
		wakeUp();
	}

	/**
	 * Stop the statements until {@link #clearPause()}: a pause between attempts ends, and
	 * the next attempt does not start.
	 * @param reason why, for example who paused the step
	 */
	void requestPause(String reason) {
		this.pauseReason = reason;
		wakeUp();
	}

	void clearPause() {
		this.pauseReason = null;
		wakeUp();
	}

	/**
	 * Wait, returning early if the instance shuts down or the pause is cleared.
	 * @param wait how long at most
	 */
	void idle(Duration wait) {
		long deadline = System.nanoTime() + wait.toNanos();
		synchronized (this.monitor) {
			while (!this.stopRequested && this.pauseReason != null) {
				long left = deadline - System.nanoTime();
				if (left <= 0) {
					return;
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
	}

	private void wakeUp() {
		synchronized (this.monitor) {
			this.monitor.notifyAll();
		}
	}

	/**
	 * Pause, returning early if a stop or a pause of the step is requested.
	 * @param pause how long
	 * @return {@code false} if a stop or a pause was requested
	 */
	boolean pause(Duration pause) {
		long deadline = System.nanoTime() + pause.toNanos();
		synchronized (this.monitor) {
			while (!stopRequested()) {
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
