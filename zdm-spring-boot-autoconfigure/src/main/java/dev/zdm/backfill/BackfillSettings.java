package dev.zdm.backfill;

import java.time.Duration;
import java.time.ZoneId;
import java.util.List;

/**
 * How a migration's backfill runs: batch sizes, pacing, timeouts, throttling and maintenance.
 *
 * @param enabled whether the backfill runs on this instance
 * @param initialBatchSize rows in the first batch
 * @param minBatchSize fewest rows in a batch
 * @param maxBatchSize most rows in a batch
 * @param targetBatchDuration how long a batch should take; the batch size adapts towards it
 * @param pause pause between batches
 * @param lockTimeout {@code lock_timeout} of each batch
 * @param statementTimeout {@code statement_timeout} of each batch
 * @param maxLockWaiters most sessions waiting on a lock on the table before the backfill holds back
 * @param maxTransactionAge age of the oldest open transaction above which the backfill holds back, or
 * {@link Duration#ZERO} to never hold back for it
 * @param throttleCheckInterval how long to wait before checking the load again while holding back
 * @param timeWindows times of day the backfill may run in, empty for any time
 * @param timeZone the zone of the time windows
 * @param vacuumEveryRows rows updated between two {@code VACUUM}s of the table, 0 for none
 * @param verificationPasses most verification passes before giving up when rows keep disagreeing
 * @param maxReplicationLag replay lag of a streaming replica above which the backfill holds back, or
 * {@link Duration#ZERO} to never hold back for it
 */
public record BackfillSettings(boolean enabled, int initialBatchSize, int minBatchSize, int maxBatchSize,
		Duration targetBatchDuration, Duration pause, Duration lockTimeout, Duration statementTimeout,
		int maxLockWaiters, Duration maxTransactionAge, Duration throttleCheckInterval, List<TimeWindow> timeWindows,
		ZoneId timeZone, long vacuumEveryRows, int verificationPasses, Duration maxReplicationLag) {

	/**
	 * The default {@link #maxReplicationLag()}.
	 */
	public static final Duration DEFAULT_MAX_REPLICATION_LAG = Duration.ofSeconds(10);

	/**
	 * Create settings, checking they are consistent.
	 */
	public BackfillSettings {
		if (minBatchSize < 1 || maxBatchSize < minBatchSize) {
			throw new IllegalArgumentException(
					"Backfill batch sizes must satisfy 1 <= min (" + minBatchSize + ") <= max (" + maxBatchSize + ")");
		}
		initialBatchSize = Math.max(minBatchSize, Math.min(maxBatchSize, initialBatchSize));
		timeWindows = List.copyOf(timeWindows);
		verificationPasses = Math.max(2, verificationPasses);
	}

	/**
	 * Create settings that hold back for a replication lag over {@link #DEFAULT_MAX_REPLICATION_LAG}; the
	 * parameters are the record's components of the same names.
	 */
	public BackfillSettings(boolean enabled, int initialBatchSize, int minBatchSize, int maxBatchSize,
			Duration targetBatchDuration, Duration pause, Duration lockTimeout, Duration statementTimeout,
			int maxLockWaiters, Duration maxTransactionAge, Duration throttleCheckInterval, List<TimeWindow> timeWindows,
			ZoneId timeZone, long vacuumEveryRows, int verificationPasses) {
		this(enabled, initialBatchSize, minBatchSize, maxBatchSize, targetBatchDuration, pause, lockTimeout,
				statementTimeout, maxLockWaiters, maxTransactionAge, throttleCheckInterval, timeWindows, timeZone,
				vacuumEveryRows, verificationPasses, DEFAULT_MAX_REPLICATION_LAG);
	}

	/**
	 * Return the defaults, as the {@code zdm.migrations.<id>.backfill.*} properties have them.
	 * @return the default settings
	 */
	public static BackfillSettings defaults() {
		return new BackfillSettings(true, 1000, 100, 50_000, Duration.ofMillis(20), Duration.ofMillis(200),
				Duration.ofSeconds(1), Duration.ofSeconds(10), 0, Duration.ofMinutes(5), Duration.ofSeconds(1), List.of(),
				ZoneId.of("UTC"), 200_000, 3);
	}

	/**
	 * Return these settings with pacing off: the largest batches, no pause, no load checks and no time windows,
	 * as for a measurement.
	 * @return settings without pacing
	 */
	public BackfillSettings withoutPacing() {
		return new BackfillSettings(this.enabled, this.maxBatchSize, this.maxBatchSize, this.maxBatchSize,
				this.targetBatchDuration, Duration.ZERO, this.lockTimeout, this.statementTimeout, Integer.MAX_VALUE,
				Duration.ZERO, this.throttleCheckInterval, List.of(), this.timeZone, this.vacuumEveryRows,
				this.verificationPasses, Duration.ZERO);
	}

}
