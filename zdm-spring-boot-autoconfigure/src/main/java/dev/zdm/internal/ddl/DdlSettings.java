package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * How DDL statements wait for locks and are retried.
 *
 * @param lockTimeout how long a statement waits for a lock before it gives up; the
 * application's queries queued behind it wait no longer than this
 * @param statementTimeout how long a statement may run, or {@link Duration#ZERO} for no
 * limit
 * @param maxAttempts how many times a statement that times out on a lock is tried in all
 * @param initialBackoff the pause before the first retry, doubled for each further one
 * @param maxBackoff the longest pause between two attempts
 * @param jitter the random fraction of each pause, from 0 (none) to 1 (anywhere between
 * zero and the pause)
 */
public record DdlSettings(Duration lockTimeout, Duration statementTimeout, int maxAttempts, Duration initialBackoff,
		Duration maxBackoff, double jitter) {

	/**
	 * Create settings, checking they are consistent.
	 */
	public DdlSettings {
		if (lockTimeout.isNegative() || lockTimeout.isZero()) {
			throw new IllegalArgumentException("zdm.ddl.lock-timeout must be positive");
		}
		if (statementTimeout.isNegative()) {
			throw new IllegalArgumentException("zdm.ddl.statement-timeout must not be negative");
		}
		if (maxAttempts < 1) {
			throw new IllegalArgumentException("zdm.ddl.max-attempts must be at least 1");
		}
		if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
			throw new IllegalArgumentException("zdm.ddl.max-backoff (" + maxBackoff
					+ ") must be at least zdm.ddl.initial-backoff (" + initialBackoff + ")");
		}
		if (jitter < 0 || jitter > 1) {
			throw new IllegalArgumentException("zdm.ddl.jitter must be between 0 and 1");
		}
	}

	/**
	 * The defaults: a 100 ms lock timeout, no statement timeout, 30 attempts, backing off
	 * from 200 ms to 10 s with 50% jitter.
	 * @return the default settings
	 */
	public static DdlSettings defaults() {
		return new DdlSettings(Duration.ofMillis(100), Duration.ZERO, 30, Duration.ofMillis(200),
				Duration.ofSeconds(10), 0.5);
	}

	/**
	 * Return these settings with another lock timeout.
	 * @param lockTimeout how long a statement waits for a lock before it gives up
	 * @return the settings
	 */
	public DdlSettings withLockTimeout(Duration lockTimeout) {
		return new DdlSettings(lockTimeout, this.statementTimeout, this.maxAttempts, this.initialBackoff,
				this.maxBackoff, this.jitter);
	}

	/**
	 * Return these settings with another statement timeout.
	 * @param statementTimeout how long a statement may run, or {@link Duration#ZERO} for
	 * no limit
	 * @return the settings
	 */
	public DdlSettings withStatementTimeout(Duration statementTimeout) {
		return new DdlSettings(this.lockTimeout, statementTimeout, this.maxAttempts, this.initialBackoff,
				this.maxBackoff, this.jitter);
	}

	/**
	 * Return these settings with another number of attempts.
	 * @param maxAttempts how many times a statement that times out on a lock is tried in
	 * all
	 * @return the settings
	 */
	public DdlSettings withMaxAttempts(int maxAttempts) {
		return new DdlSettings(this.lockTimeout, this.statementTimeout, maxAttempts, this.initialBackoff,
				this.maxBackoff, this.jitter);
	}

	/**
	 * Return these settings with another backoff between attempts.
	 * @param initialBackoff the pause before the first retry, doubled for each further
	 * one
	 * @param maxBackoff the longest pause between two attempts
	 * @return the settings
	 */
	public DdlSettings withBackoff(Duration initialBackoff, Duration maxBackoff) {
		return new DdlSettings(this.lockTimeout, this.statementTimeout, this.maxAttempts, initialBackoff, maxBackoff,
				this.jitter);
	}

	/**
	 * Return these settings with another jitter.
	 * @param jitter the random fraction of each pause, from 0 (none) to 1
	 * @return the settings
	 */
	public DdlSettings withJitter(double jitter) {
		return new DdlSettings(this.lockTimeout, this.statementTimeout, this.maxAttempts, this.initialBackoff,
				this.maxBackoff, jitter);
	}

	/**
	 * Return the pause before the next attempt: exponential in the attempts made so far,
	 * capped, less a random part.
	 * @param failedAttempts the attempts that have failed so far, at least 1
	 * @param random the source of jitter
	 * @return the pause
	 */
	public Duration backoff(int failedAttempts, RandomGenerator random) {
		long initial = this.initialBackoff.toMillis();
		long max = this.maxBackoff.toMillis();
		int doublings = Math.min(failedAttempts - 1, 30);
		long exponential = (initial > (max >> doublings)) ? max : Math.min(max, initial << doublings);
		long jittered = exponential - (long) (exponential * this.jitter * random.nextDouble());
		return Duration.ofMillis(Math.max(0, jittered));
	}

}
