package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.springframework.util.unit.DataSize;

/**
 * Configuration properties of one migration's backfill,
 * {@code zdm.migrations.<id>.backfill}.
 *
 * @see ZdmMigrationProperties#getBackfill()
 */
public class ZdmBackfillProperties {

	/**
	 * Whether this instance may run the migration's backfill.
	 */
	private boolean enabled = true;

	/**
	 * Number of rows in the first batch.
	 */
	private int initialBatchSize = 1000;

	/**
	 * Minimum number of rows in a batch.
	 */
	private int minBatchSize = 100;

	/**
	 * Maximum number of rows in a batch.
	 */
	private int maxBatchSize = 50_000;

	/**
	 * Longest duration a copy batch should take (it holds its rows' locks that long).
	 * Batches grow towards it while the workload does not feel the copy, and shrink while
	 * it does.
	 */
	private Duration targetBatchDuration = Duration.ofMillis(200);

	/**
	 * Least pause between two copy batches. The pacing lengthens it while the workload
	 * feels the copy.
	 */
	private Duration pause = Duration.ZERO;

	/**
	 * How much slower the workload's database calls may get while the copy runs than
	 * while it pauses, such as 20%. The copy slows down when they get slower than that.
	 */
	private String maxLatencyIncrease = "20%";

	/**
	 * Maximum number of rows the copy walks per second, across the fleet. Zero for no
	 * ceiling.
	 */
	private long maxRowsPerSecond;

	/**
	 * Lock timeout of each batch.
	 */
	private Duration lockTimeout = Duration.ofSeconds(1);

	/**
	 * Statement timeout of each batch.
	 */
	private Duration statementTimeout = Duration.ofSeconds(10);

	/**
	 * Maximum number of sessions waiting on a lock on the table before the backfill holds
	 * back.
	 */
	private int maxLockWaiters = 0;

	/**
	 * Maximum age of the oldest open transaction before the backfill holds back. Zero to
	 * never hold back for it.
	 */
	private Duration maxTransactionAge = Duration.ofMinutes(5);

	/**
	 * How long to wait before checking the load again while holding back.
	 */
	private Duration throttleCheckInterval = Duration.ofSeconds(1);

	/**
	 * Times of day the backfill may run in, such as 22:00-06:00. Any time if empty.
	 */
	private List<String> timeWindows = new ArrayList<>();

	/**
	 * Time zone of the time windows.
	 */
	private String timeZone = "UTC";

	/**
	 * Number of rows updated between two VACUUMs of the table. Zero to leave vacuuming to
	 * autovacuum.
	 */
	private long vacuumEveryRows = 200_000;

	/**
	 * Maximum number of verification passes while rows keep disagreeing.
	 */
	private int verificationPasses = 3;

	/**
	 * Rows read per verification batch. Verification only reads (and repairs the rows
	 * that disagree), so its batches are larger than the copy's and do not adapt to the
	 * load.
	 */
	private int verificationBatchSize = 10_000;

	/**
	 * Pause between two verification batches.
	 */
	private Duration verificationPause = Duration.ofMillis(10);

	/**
	 * Replay lag of a streaming replica above which the backfill holds back. Zero to
	 * never hold back for it. Needs a role that can read pg_stat_replication's lag
	 * (pg_read_all_stats).
	 */
	private Duration maxReplicationLag = Duration.ofSeconds(10);

	/**
	 * WAL segments waiting to be archived above which the backfill holds back. 0 or less
	 * to never hold back for them. Read only where the server archives (archive_mode), by
	 * a role with pg_monitor.
	 */
	private long maxWalArchiveBacklog = 32;

	/**
	 * WAL the database may write per second, such as 64MB, above which the backfill holds
	 * back. 0 for no ceiling.
	 */
	private DataSize maxWalRate = DataSize.ofBytes(0);

	/**
	 * Failed attempts in a row of one batch after which the backfill stops in the failed
	 * state until it is resumed.
	 */
	private int maxBatchAttempts = 10;

	/**
	 * How many of the latest batch attempts max-failure-share is taken over.
	 */
	private int failureWindow = 100;

	/**
	 * Share of failed attempts among the latest failure-window above which the backfill
	 * stops in the failed state until it is resumed.
	 */
	private double maxFailureShare = 0.5;

	/**
	 * Whether to clear the settings changed live through the endpoint, so that the
	 * declared ones apply again: once per distinct declaration of the backfill's
	 * settings, by the first instance that starts with it.
	 */
	private boolean clearOverrides;

	public boolean isEnabled() {
		return this.enabled;
	}

	public void setEnabled(boolean enabled) {
		this.enabled = enabled;
	}

	public int getInitialBatchSize() {
		return this.initialBatchSize;
	}

	public void setInitialBatchSize(int initialBatchSize) {
		this.initialBatchSize = initialBatchSize;
	}

	public int getMinBatchSize() {
		return this.minBatchSize;
	}

	public void setMinBatchSize(int minBatchSize) {
		this.minBatchSize = minBatchSize;
	}

	public int getMaxBatchSize() {
		return this.maxBatchSize;
	}

	public void setMaxBatchSize(int maxBatchSize) {
		this.maxBatchSize = maxBatchSize;
	}

	public Duration getTargetBatchDuration() {
		return this.targetBatchDuration;
	}

	public void setTargetBatchDuration(Duration targetBatchDuration) {
		this.targetBatchDuration = targetBatchDuration;
	}

	public Duration getPause() {
		return this.pause;
	}

	public void setPause(Duration pause) {
		this.pause = pause;
	}

	public Duration getLockTimeout() {
		return this.lockTimeout;
	}

	public void setLockTimeout(Duration lockTimeout) {
		this.lockTimeout = lockTimeout;
	}

	public Duration getStatementTimeout() {
		return this.statementTimeout;
	}

	public void setStatementTimeout(Duration statementTimeout) {
		this.statementTimeout = statementTimeout;
	}

	public int getMaxLockWaiters() {
		return this.maxLockWaiters;
	}

	public void setMaxLockWaiters(int maxLockWaiters) {
		this.maxLockWaiters = maxLockWaiters;
	}

	public Duration getMaxTransactionAge() {
		return this.maxTransactionAge;
	}

	public void setMaxTransactionAge(Duration maxTransactionAge) {
		this.maxTransactionAge = maxTransactionAge;
	}

	public Duration getThrottleCheckInterval() {
		return this.throttleCheckInterval;
	}

	public void setThrottleCheckInterval(Duration throttleCheckInterval) {
		this.throttleCheckInterval = throttleCheckInterval;
	}

	public List<String> getTimeWindows() {
		return this.timeWindows;
	}

	public void setTimeWindows(List<String> timeWindows) {
		this.timeWindows = timeWindows;
	}

	public String getTimeZone() {
		return this.timeZone;
	}

	public void setTimeZone(String timeZone) {
		this.timeZone = timeZone;
	}

	public long getVacuumEveryRows() {
		return this.vacuumEveryRows;
	}

	public void setVacuumEveryRows(long vacuumEveryRows) {
		this.vacuumEveryRows = vacuumEveryRows;
	}

	public int getVerificationPasses() {
		return this.verificationPasses;
	}

	public void setVerificationPasses(int verificationPasses) {
		this.verificationPasses = verificationPasses;
	}

	public int getVerificationBatchSize() {
		return this.verificationBatchSize;
	}

	public void setVerificationBatchSize(int verificationBatchSize) {
		this.verificationBatchSize = verificationBatchSize;
	}

	public Duration getVerificationPause() {
		return this.verificationPause;
	}

	public void setVerificationPause(Duration verificationPause) {
		this.verificationPause = verificationPause;
	}

	public String getMaxLatencyIncrease() {
		return this.maxLatencyIncrease;
	}

	public void setMaxLatencyIncrease(String maxLatencyIncrease) {
		this.maxLatencyIncrease = maxLatencyIncrease;
	}

	public long getMaxRowsPerSecond() {
		return this.maxRowsPerSecond;
	}

	public void setMaxRowsPerSecond(long maxRowsPerSecond) {
		this.maxRowsPerSecond = maxRowsPerSecond;
	}

	public Duration getMaxReplicationLag() {
		return this.maxReplicationLag;
	}

	public void setMaxReplicationLag(Duration maxReplicationLag) {
		this.maxReplicationLag = maxReplicationLag;
	}

	public long getMaxWalArchiveBacklog() {
		return this.maxWalArchiveBacklog;
	}

	public void setMaxWalArchiveBacklog(long maxWalArchiveBacklog) {
		this.maxWalArchiveBacklog = maxWalArchiveBacklog;
	}

	public DataSize getMaxWalRate() {
		return this.maxWalRate;
	}

	public void setMaxWalRate(DataSize maxWalRate) {
		this.maxWalRate = maxWalRate;
	}

	public int getMaxBatchAttempts() {
		return this.maxBatchAttempts;
	}

	public void setMaxBatchAttempts(int maxBatchAttempts) {
		this.maxBatchAttempts = maxBatchAttempts;
	}

	public int getFailureWindow() {
		return this.failureWindow;
	}

	public void setFailureWindow(int failureWindow) {
		this.failureWindow = failureWindow;
	}

	public double getMaxFailureShare() {
		return this.maxFailureShare;
	}

	public void setMaxFailureShare(double maxFailureShare) {
		this.maxFailureShare = maxFailureShare;
	}

	public boolean isClearOverrides() {
		return this.clearOverrides;
	}

	public void setClearOverrides(boolean clearOverrides) {
		this.clearOverrides = clearOverrides;
	}

}
