package dev.zdm.internal.locks;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * A session that holds a lock another session waits for, as {@code pg_stat_activity}
 * shows it.
 *
 * @param pid the backend's process id
 * @param state the session's state, for example {@code idle in transaction}
 * @param applicationName the session's application name
 * @param transactionAge how long its transaction has been open, or {@code null} if none
 * is
 * @param stateAge how long it has been in its current state
 * @param query its current or last query
 */
public record BlockingSession(int pid, @Nullable String state, @Nullable String applicationName,
		@Nullable Duration transactionAge, @Nullable Duration stateAge, @Nullable String query) {

	/**
	 * What follows the state of a session that itself waits for a lock: it is queued
	 * ahead of the session it blocks, not holding what that one waits for.
	 */
	static final String QUEUED = ", itself queued for a lock";

	/**
	 * Describe the session in one line, for logs and status.
	 * @return for example
	 * {@code pid 4242 (idle in transaction for PT12S, application 'psql'): UPDATE users ...}
	 */
	public String describe() {
		// the time is the session's time in its state, not in the lock's queue: it goes
		// with the state, before the queue is named
		String state = this.state;
		String queued = "";
		if (state != null && state.endsWith(QUEUED)) {
			state = state.substring(0, state.length() - QUEUED.length());
			queued = QUEUED;
		}
		return "pid " + this.pid + " (" + state + " for " + this.stateAge + queued + ", application '"
				+ this.applicationName + "', transaction open for " + this.transactionAge + "): " + this.query;
	}

}
