package dev.zdm.internal.backfill;

import java.time.Duration;

/**
 * Asks a run to stop after its current batch, from the heartbeat or the shutdown thread,
 * and lets the run pause until then: a pause ends as soon as a stop is asked for.
 */
public final class BackfillStopSignal {

	private final Object monitor = new Object();

	private volatile boolean stopRequested;

	private volatile boolean eligibilityLost;

	/**
	 * Ask the run to stop after its current batch.
	 */
	void requestStop() {
		this.stopRequested = true;
		synchronized (this.monitor) {
			this.monitor.notifyAll();
		}
	}

	/**
	 * Say that a heartbeat found the fleet no longer allows the backfill, and stop.
	 */
	void eligibilityLost() {
		this.eligibilityLost = true;
		requestStop();
	}

	/**
	 * End a pause in progress without asking the run to stop, as when an operator changed
	 * its settings: the run goes on with them.
	 */
	void wake() {
		synchronized (this.monitor) {
			this.monitor.notifyAll();
		}
	}

	boolean isStopRequested() {
		return this.stopRequested;
	}

	/**
	 * Whether a heartbeat found the fleet no longer allows the backfill during this run,
	 * so that a verification must not be recorded as holding.
	 */
	boolean isEligibilityLost() {
		return this.eligibilityLost;
	}

	/**
	 * Pause the run, unless or until a stop is asked for.
	 * @param duration how long
	 */
	void sleep(Duration duration) {
		if (duration.isZero() || duration.isNegative()) {
			return;
		}
		synchronized (this.monitor) {
			if (this.stopRequested) {
				return;
			}
			try {
				this.monitor.wait(Math.max(1, duration.toMillis()));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				this.stopRequested = true;
			}
		}
	}

}
