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
	 * Describe the session in one line, for logs and status.
	 * @return for example
	 * {@code pid 4242 (idle in transaction for PT12S, application 'psql'): UPDATE users ...}
	 */
	public String describe() {
		return "pid " + this.pid + " (" + this.state + " for " + this.stateAge + ", application '"
				+ this.applicationName + "', transaction open for " + this.transactionAge + "): " + this.query;
	}

}
