package dev.zdm.backfill;

import java.time.Duration;
import java.time.ZoneId;
import java.util.List;

/**
 * How a migration's backfill runs: batch sizes, pacing, timeouts, throttling and
 * maintenance.
 *
 * @param enabled whether the backfill runs on this instance
 * @param initialBatchSize rows in the first batch
 * @param minBatchSize fewest rows in a batch
 * @param maxBatchSize most rows in a batch
 * @param targetBatchDuration how long a batch should take; the batch size adapts towards
 * it
 * @param pause pause between batches
 * @param lockTimeout {@code lock_timeout} of each batch
 * @param statementTimeout {@code statement_timeout} of each batch
 * @param maxLockWaiters most sessions waiting on a lock on the table before the backfill
 * holds back
 * @param maxTransactionAge age of the oldest open transaction above which the backfill
 * holds back, or {@link Duration#ZERO} to never hold back for it
 * @param throttleCheckInterval how long to wait before checking the load again while
 * holding back
 * @param timeWindows times of day the backfill may run in, empty for any time
 * @param timeZone the zone of the time windows
 * @param vacuumEveryRows rows updated between two {@code VACUUM}s of the table, 0 for
 * none
 * @param verificationPasses most verification passes before giving up when rows keep
 * disagreeing
 * @param verificationBatchSize rows read per verification batch (a fixed size:
 * verification only reads)
 * @param verificationPause pause between two verification batches
 * @param maxReplicationLag replay lag of a streaming replica above which the backfill
 * holds back, or {@link Duration#ZERO} to never hold back for it
 */
public record BackfillSettings(boolean enabled, int initialBatchSize, int minBatchSize, int maxBatchSize,
		Duration targetBatchDuration, Duration pause, Duration lockTimeout, Duration statementTimeout,
		int maxLockWaiters, Duration maxTransactionAge, Duration throttleCheckInterval, List<TimeWindow> timeWindows,
		ZoneId timeZone, long vacuumEveryRows, int verificationPasses, int verificationBatchSize,
		Duration verificationPause, Duration maxReplicationLag) {

	/**
	 * The default {@link #maxReplicationLag()}.
	 */
	public static final Duration DEFAULT_MAX_REPLICATION_LAG = Duration.ofSeconds(10);

	private static final int DEFAULT_VERIFICATION_BATCH_SIZE = 10_000;

	private static final Duration DEFAULT_VERIFICATION_PAUSE = Duration.ofMillis(10);

	/**
	 * Create settings, checking they are consistent.
	 */
	public BackfillSettings {
		if (minBatchSize < 1 || maxBatchSize < minBatchSize) {
			throw new IllegalArgumentException(
					"Backfill batch sizes must satisfy 1 <= min (" + minBatchSize + ") <= max (" + maxBatchSize + ")");
		}
		if (verificationBatchSize < 1) {
			throw new IllegalArgumentException(
					"The verification batch size must be at least 1 (was " + verificationBatchSize + ")");
		}
		initialBatchSize = Math.max(minBatchSize, Math.min(maxBatchSize, initialBatchSize));
		timeWindows = List.copyOf(timeWindows);
		verificationPasses = Math.max(2, verificationPasses);
	}

	/**
	 * Create settings with the default verification batch size and pause, holding back
	 * for a replication lag over {@link #DEFAULT_MAX_REPLICATION_LAG}; the parameters are
	 * the record's components of the same names.
	 */
	public BackfillSettings(boolean enabled, int initialBatchSize, int minBatchSize, int maxBatchSize,
			Duration targetBatchDuration, Duration pause, Duration lockTimeout, Duration statementTimeout,
			int maxLockWaiters, Duration maxTransactionAge, Duration throttleCheckInterval,
			List<TimeWindow> timeWindows, ZoneId timeZone, long vacuumEveryRows, int verificationPasses) {
		this(enabled, initialBatchSize, minBatchSize, maxBatchSize, targetBatchDuration, pause, lockTimeout,
				statementTimeout, maxLockWaiters, maxTransactionAge, throttleCheckInterval, timeWindows, timeZone,
				vacuumEveryRows, verificationPasses, DEFAULT_VERIFICATION_BATCH_SIZE, DEFAULT_VERIFICATION_PAUSE,
				DEFAULT_MAX_REPLICATION_LAG);
	}

	/**
	 * Return the defaults, as the {@code zdm.migrations.<id>.backfill.*} properties have
	 * them.
	 * @return the default settings
	 */
	public static BackfillSettings defaults() {
		return new BackfillSettings(true, 1000, 100, 50_000, Duration.ofMillis(20), Duration.ofMillis(200),
				Duration.ofSeconds(1), Duration.ofSeconds(10), 0, Duration.ofMinutes(5), Duration.ofSeconds(1),
				List.of(), ZoneId.of("UTC"), 200_000, 3);
	}

	/**
	 * Return these settings with pacing off: the largest batches, no pause, no load
	 * checks and no time windows, as for a measurement.
	 * @return settings without pacing
	 */
	public BackfillSettings withoutPacing() {
		return new BackfillSettings(this.enabled, this.maxBatchSize, this.maxBatchSize, this.maxBatchSize,
				this.targetBatchDuration, Duration.ZERO, this.lockTimeout, this.statementTimeout, Integer.MAX_VALUE,
				Duration.ZERO, this.throttleCheckInterval, List.of(), this.timeZone, this.vacuumEveryRows,
				this.verificationPasses, Math.max(this.verificationBatchSize, this.maxBatchSize), Duration.ZERO,
				Duration.ZERO);
	}

	/**
	 * Return these settings with another verification batch size and pause.
	 * @param batchSize rows read per verification batch
	 * @param pause pause between two verification batches
	 * @return the settings
	 */
	public BackfillSettings withVerification(int batchSize, Duration pause) {
		return new BackfillSettings(this.enabled, this.initialBatchSize, this.minBatchSize, this.maxBatchSize,
				this.targetBatchDuration, this.pause, this.lockTimeout, this.statementTimeout, this.maxLockWaiters,
				this.maxTransactionAge, this.throttleCheckInterval, this.timeWindows, this.timeZone,
				this.vacuumEveryRows, this.verificationPasses, batchSize, pause, this.maxReplicationLag);
	}

}
