package dev.zdm.migration;

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
 * @param targetBatchDuration the longest a copy batch should take (it holds its rows'
 * locks that long); batches grow towards it while the workload does not feel the copy and
 * shrink while it does
 * @param pause least pause between two copy batches; the pacing lengthens it while the
 * workload feels the copy
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
 * @param maxLatencyIncrease how much slower than while the copy pauses the workload's
 * database calls may become while it copies, as a fraction ({@code 0.2} for 20%); the
 * copy slows down when they do
 * @param maxRowsPerSecond most rows the copy walks per second, or 0 for no ceiling
 * @param maxBatchAttempts failed attempts in a row of one batch after which the backfill
 * stops in the {@code failed} state until it is resumed
 * @param failureWindow how many of the latest batch attempts {@code maxFailureShare} is
 * taken over
 * @param maxFailureShare share of failed attempts among the latest {@code failureWindow}
 * above which the backfill stops in the {@code failed} state until it is resumed
 * @param maxWalArchiveBacklog WAL segments waiting for the archiver above which the
 * backfill holds back, or 0 (or less) to never hold back for them
 * @param maxWalRate bytes of WAL per second the database may write before the backfill
 * holds back, or 0 for no ceiling
 */
public record BackfillSettings(boolean enabled, int initialBatchSize, int minBatchSize, int maxBatchSize,
		Duration targetBatchDuration, Duration pause, Duration lockTimeout, Duration statementTimeout,
		int maxLockWaiters, Duration maxTransactionAge, Duration throttleCheckInterval, List<TimeWindow> timeWindows,
		ZoneId timeZone, long vacuumEveryRows, int verificationPasses, int verificationBatchSize,
		Duration verificationPause, Duration maxReplicationLag, double maxLatencyIncrease, long maxRowsPerSecond,
		int maxBatchAttempts, int failureWindow, double maxFailureShare, long maxWalArchiveBacklog, long maxWalRate) {

	/**
	 * The default {@link #maxReplicationLag()}.
	 */
	public static final Duration DEFAULT_MAX_REPLICATION_LAG = Duration.ofSeconds(10);

	/**
	 * The default {@link #maxWalArchiveBacklog()}: 32 segments, 512 MB of WAL with the
	 * default segment size.
	 */
	public static final long DEFAULT_MAX_WAL_ARCHIVE_BACKLOG = 32;

	/**
	 * The default {@link #maxLatencyIncrease()}: 20%.
	 */
	public static final double DEFAULT_MAX_LATENCY_INCREASE = 0.2;

	private static final int DEFAULT_VERIFICATION_BATCH_SIZE = 10_000;

	private static final Duration DEFAULT_VERIFICATION_PAUSE = Duration.ofMillis(10);

	/**
	 * Create settings, checking they are consistent. Prefer {@link #builder()}, which
	 * names each component.
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
		if (maxBatchAttempts < 1 || failureWindow < 1 || !(maxFailureShare > 0 && maxFailureShare <= 1)) {
			throw new IllegalArgumentException(
					"The backfill's failure budget must satisfy max-batch-attempts >= 1 (was " + maxBatchAttempts
							+ "), failure-window >= 1 (was " + failureWindow + ") and 0 < max-failure-share <= 1 (was "
							+ maxFailureShare + ")");
		}
		initialBatchSize = Math.max(minBatchSize, Math.min(maxBatchSize, initialBatchSize));
		timeWindows = List.copyOf(timeWindows);
		verificationPasses = Math.max(2, verificationPasses);
		if (!(maxLatencyIncrease > 0)) {
			throw new IllegalArgumentException(
					"The latency increase allowed must be above 0% (was " + maxLatencyIncrease * 100 + "%)");
		}
		if (maxRowsPerSecond < 0) {
			throw new IllegalArgumentException(
					"The rows per second ceiling must be at least 0, for none (was " + maxRowsPerSecond + ")");
		}
		if (maxWalRate < 0) {
			throw new IllegalArgumentException(
					"The WAL rate ceiling must be at least 0 bytes per second, for none (was " + maxWalRate + ")");
		}
	}

	/**
	 * Return the defaults, as the {@code zdm.migrations.<id>.backfill.*} properties have
	 * them.
	 * @return the default settings
	 */
	public static BackfillSettings defaults() {
		return builder().build();
	}

	/**
	 * Return a builder that starts from the {@link #defaults() defaults}.
	 * @return a builder
	 */
	public static Builder builder() {
		return new Builder();
	}

	/**
	 * Return a builder that starts from these settings.
	 * @return a builder
	 */
	public Builder toBuilder() {
		return new Builder(this);
	}

	/**
	 * Return these settings with pacing off: the largest batches, no pause, no load
	 * checks and no time windows, as for a measurement.
	 * @return settings without pacing
	 */
	public BackfillSettings withoutPacing() {
		return toBuilder().batchSizes(this.maxBatchSize, this.maxBatchSize, this.maxBatchSize)
			.pause(Duration.ZERO)
			.maxLockWaiters(Integer.MAX_VALUE)
			.maxTransactionAge(Duration.ZERO)
			.timeWindows(List.of())
			.verificationBatchSize(Math.max(this.verificationBatchSize, this.maxBatchSize))
			.verificationPause(Duration.ZERO)
			.maxReplicationLag(Duration.ZERO)
			.maxLatencyIncrease(Double.POSITIVE_INFINITY)
			.maxRowsPerSecond(0)
			.maxWalArchiveBacklog(0)
			.maxWalRate(0)
			.build();
	}

	/**
	 * Return these settings with another verification batch size and pause.
	 * @param batchSize rows read per verification batch
	 * @param pause pause between two verification batches
	 * @return the settings
	 */
	public BackfillSettings withVerification(int batchSize, Duration pause) {
		return toBuilder().verificationBatchSize(batchSize).verificationPause(pause).build();
	}

	/**
	 * Builds {@link BackfillSettings} by name; each method sets the component of the same
	 * name.
	 */
	public static final class Builder {

		private boolean enabled = true;

		private int initialBatchSize = 1000;

		private int minBatchSize = 100;

		private int maxBatchSize = 50_000;

		private Duration targetBatchDuration = Duration.ofMillis(200);

		private Duration pause = Duration.ZERO;

		private Duration lockTimeout = Duration.ofSeconds(1);

		private Duration statementTimeout = Duration.ofSeconds(10);

		private int maxLockWaiters = 0;

		private Duration maxTransactionAge = Duration.ofMinutes(5);

		private Duration throttleCheckInterval = Duration.ofSeconds(1);

		private List<TimeWindow> timeWindows = List.of();

		private ZoneId timeZone = ZoneId.of("UTC");

		private long vacuumEveryRows = 200_000;

		private int verificationPasses = 3;

		private int verificationBatchSize = DEFAULT_VERIFICATION_BATCH_SIZE;

		private Duration verificationPause = DEFAULT_VERIFICATION_PAUSE;

		private Duration maxReplicationLag = DEFAULT_MAX_REPLICATION_LAG;

		private double maxLatencyIncrease = DEFAULT_MAX_LATENCY_INCREASE;

		private long maxRowsPerSecond;

		private int maxBatchAttempts = 10;

		private int failureWindow = 100;

		private double maxFailureShare = 0.5;

		private long maxWalArchiveBacklog = DEFAULT_MAX_WAL_ARCHIVE_BACKLOG;

		private long maxWalRate;

		private Builder() {
		}

		private Builder(BackfillSettings settings) {
			this.enabled = settings.enabled;
			this.initialBatchSize = settings.initialBatchSize;
			this.minBatchSize = settings.minBatchSize;
			this.maxBatchSize = settings.maxBatchSize;
			this.targetBatchDuration = settings.targetBatchDuration;
			this.pause = settings.pause;
			this.lockTimeout = settings.lockTimeout;
			this.statementTimeout = settings.statementTimeout;
			this.maxLockWaiters = settings.maxLockWaiters;
			this.maxTransactionAge = settings.maxTransactionAge;
			this.throttleCheckInterval = settings.throttleCheckInterval;
			this.timeWindows = settings.timeWindows;
			this.timeZone = settings.timeZone;
			this.vacuumEveryRows = settings.vacuumEveryRows;
			this.verificationPasses = settings.verificationPasses;
			this.verificationBatchSize = settings.verificationBatchSize;
			this.verificationPause = settings.verificationPause;
			this.maxReplicationLag = settings.maxReplicationLag;
			this.maxLatencyIncrease = settings.maxLatencyIncrease;
			this.maxRowsPerSecond = settings.maxRowsPerSecond;
			this.maxBatchAttempts = settings.maxBatchAttempts;
			this.failureWindow = settings.failureWindow;
			this.maxFailureShare = settings.maxFailureShare;
			this.maxWalArchiveBacklog = settings.maxWalArchiveBacklog;
			this.maxWalRate = settings.maxWalRate;
		}

		public Builder enabled(boolean enabled) {
			this.enabled = enabled;
			return this;
		}

		public Builder initialBatchSize(int initialBatchSize) {
			this.initialBatchSize = initialBatchSize;
			return this;
		}

		public Builder minBatchSize(int minBatchSize) {
			this.minBatchSize = minBatchSize;
			return this;
		}

		public Builder maxBatchSize(int maxBatchSize) {
			this.maxBatchSize = maxBatchSize;
			return this;
		}

		/**
		 * Set the initial, smallest and largest batch sizes at once.
		 * @param initial rows in the first batch
		 * @param min fewest rows in a batch
		 * @param max most rows in a batch
		 * @return this builder
		 */
		public Builder batchSizes(int initial, int min, int max) {
			return initialBatchSize(initial).minBatchSize(min).maxBatchSize(max);
		}

		public Builder targetBatchDuration(Duration targetBatchDuration) {
			this.targetBatchDuration = targetBatchDuration;
			return this;
		}

		public Builder pause(Duration pause) {
			this.pause = pause;
			return this;
		}

		public Builder lockTimeout(Duration lockTimeout) {
			this.lockTimeout = lockTimeout;
			return this;
		}

		public Builder statementTimeout(Duration statementTimeout) {
			this.statementTimeout = statementTimeout;
			return this;
		}

		public Builder maxLockWaiters(int maxLockWaiters) {
			this.maxLockWaiters = maxLockWaiters;
			return this;
		}

		public Builder maxTransactionAge(Duration maxTransactionAge) {
			this.maxTransactionAge = maxTransactionAge;
			return this;
		}

		public Builder throttleCheckInterval(Duration throttleCheckInterval) {
			this.throttleCheckInterval = throttleCheckInterval;
			return this;
		}

		public Builder timeWindows(List<TimeWindow> timeWindows) {
			this.timeWindows = timeWindows;
			return this;
		}

		public Builder timeZone(ZoneId timeZone) {
			this.timeZone = timeZone;
			return this;
		}

		public Builder vacuumEveryRows(long vacuumEveryRows) {
			this.vacuumEveryRows = vacuumEveryRows;
			return this;
		}

		public Builder verificationPasses(int verificationPasses) {
			this.verificationPasses = verificationPasses;
			return this;
		}

		public Builder verificationBatchSize(int verificationBatchSize) {
			this.verificationBatchSize = verificationBatchSize;
			return this;
		}

		public Builder verificationPause(Duration verificationPause) {
			this.verificationPause = verificationPause;
			return this;
		}

		public Builder maxReplicationLag(Duration maxReplicationLag) {
			this.maxReplicationLag = maxReplicationLag;
			return this;
		}

		public Builder maxLatencyIncrease(double maxLatencyIncrease) {
			this.maxLatencyIncrease = maxLatencyIncrease;
			return this;
		}

		public Builder maxRowsPerSecond(long maxRowsPerSecond) {
			this.maxRowsPerSecond = maxRowsPerSecond;
			return this;
		}

		public Builder maxBatchAttempts(int maxBatchAttempts) {
			this.maxBatchAttempts = maxBatchAttempts;
			return this;
		}

		public Builder failureBudget(int failureWindow, double maxFailureShare) {
			this.failureWindow = failureWindow;
			this.maxFailureShare = maxFailureShare;
			return this;
		}

		public Builder maxWalArchiveBacklog(long maxWalArchiveBacklog) {
			this.maxWalArchiveBacklog = maxWalArchiveBacklog;
			return this;
		}

		public Builder maxWalRate(long maxWalRate) {
			this.maxWalRate = maxWalRate;
			return this;
		}

		/**
		 * Build the settings, checking they are consistent.
		 * @return the settings
		 * @throws IllegalArgumentException if the batch sizes are inconsistent
		 */
		public BackfillSettings build() {
			return new BackfillSettings(this.enabled, this.initialBatchSize, this.minBatchSize, this.maxBatchSize,
					this.targetBatchDuration, this.pause, this.lockTimeout, this.statementTimeout, this.maxLockWaiters,
					this.maxTransactionAge, this.throttleCheckInterval, this.timeWindows, this.timeZone,
					this.vacuumEveryRows, this.verificationPasses, this.verificationBatchSize, this.verificationPause,
					this.maxReplicationLag, this.maxLatencyIncrease, this.maxRowsPerSecond, this.maxBatchAttempts,
					this.failureWindow, this.maxFailureShare, this.maxWalArchiveBacklog, this.maxWalRate);
		}

	}

}
