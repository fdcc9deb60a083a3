package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.LocalTime;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.internal.locks.ReplicationLagInspector.Replica;
import dev.zdm.internal.locks.TableLockFigures;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.TimeWindow;

/**
 * Decides how large the next batch is and whether the backfill should hold back now.
 */
public final class BackfillPacer {

	private final MigrationDefinition migration;

	private final BackfillSettings settings;

	private final LockInspector lockInspector;

	private final List<BackfillThrottle> throttles;

	private final @Nullable ReplicationLagInspector replicationLagInspector;

	BackfillPacer(MigrationDefinition migration, BackfillSettings settings, LockInspector lockInspector,
			List<BackfillThrottle> throttles) {
		this(migration, settings, lockInspector, null, throttles);
	}

	BackfillPacer(MigrationDefinition migration, BackfillSettings settings, LockInspector lockInspector,
			@Nullable ReplicationLagInspector replicationLagInspector, List<BackfillThrottle> throttles) {
		this.migration = migration;
		this.settings = settings;
		this.lockInspector = lockInspector;
		this.replicationLagInspector = replicationLagInspector;
		this.throttles = throttles;
	}

	/**
	 * Return the size of the next batch given how long the last one took: towards the
	 * target duration, at most doubling or halving at a time, within the bounds.
	 */
	int nextBatchSize(int current, Duration took) {
		double target = this.settings.targetBatchDuration().toNanos();
		double factor = (took.toNanos() <= 0) ? 2.0 : target / took.toNanos();
		factor = Math.max(0.5, Math.min(2.0, factor));
		long next = Math.round(current * factor);
		return (int) Math.max(this.settings.minBatchSize(), Math.min(this.settings.maxBatchSize(), next));
	}

	/**
	 * Return why the backfill should hold back before its next batch, or {@code null} to
	 * go ahead.
	 */
	@Nullable String holdBackReason() {
		HoldBack holdBack = holdBack();
		return (holdBack != null) ? holdBack.description() : null;
	}

	/**
	 * Return why the backfill should hold back before its next batch, or {@code null} to
	 * go ahead.
	 */
	@Nullable HoldBack holdBack() {
		HoldBack outside = outsideTimeWindows();
		if (outside != null) {
			return outside;
		}
		boolean checkLocks = this.settings.maxLockWaiters() < Integer.MAX_VALUE;
		boolean checkTransactions = !this.settings.maxTransactionAge().isZero()
				&& !this.settings.maxTransactionAge().isNegative();
		if (checkLocks || checkTransactions) {
			TableLockFigures figures = this.lockInspector.tableLockFigures(this.migration.table());
			if (checkLocks && figures.waitingSessions() > this.settings.maxLockWaiters()) {
				return new HoldBack(ThrottleReason.LOCK_WAITERS,
						figures.waitingSessions() + " sessions wait for a lock on " + this.migration.table()
								+ " (longest for " + figures.longestWait() + ", at most "
								+ this.settings.maxLockWaiters() + " allowed)");
			}
			Duration oldest = figures.oldestTransactionAge();
			if (checkTransactions && oldest != null && oldest.compareTo(this.settings.maxTransactionAge()) > 0) {
				return new HoldBack(ThrottleReason.OLD_TRANSACTION,
						"the transaction of pid " + figures.oldestTransactionPid() + " has been open for " + oldest
								+ " (at most " + this.settings.maxTransactionAge() + " allowed)");
			}
		}
		Duration maxLag = this.settings.maxReplicationLag();
		if (this.replicationLagInspector != null && !maxLag.isZero() && !maxLag.isNegative()) {
			Replica replica = this.replicationLagInspector.replicationLag().mostLagging();
			if (replica != null && replica.replayLag().compareTo(maxLag) > 0) {
				return new HoldBack(ThrottleReason.REPLICATION_LAG,
						"replica '" + replica.applicationName() + "' (" + replica.client() + ") replays "
								+ replica.replayLag() + " behind (at most " + maxLag + " allowed)");
			}
		}
		for (BackfillThrottle throttle : this.throttles) {
			String reason = throttle.holdBackReason(this.migration);
			if (reason != null) {
				return new HoldBack(ThrottleReason.CUSTOM, reason);
			}
		}
		return null;
	}

	/**
	 * Return why a verification should hold back before its next batch, or {@code null}
	 * to go ahead: only the time windows count, as a verification batch reads (and writes
	 * only the rare rows it repairs), so it neither waits for row locks nor adds write
	 * load.
	 */
	@Nullable String verificationHoldBackReason() {
		HoldBack holdBack = verificationHoldBack();
		return (holdBack != null) ? holdBack.description() : null;
	}

	/**
	 * Return why a verification should hold back before its next batch, or {@code null}
	 * to go ahead.
	 * @see #verificationHoldBackReason()
	 */
	@Nullable HoldBack verificationHoldBack() {
		return outsideTimeWindows();
	}

	private @Nullable HoldBack outsideTimeWindows() {
		List<TimeWindow> windows = this.settings.timeWindows();
		if (!windows.isEmpty()) {
			LocalTime now = LocalTime.now(this.settings.timeZone());
			if (windows.stream().noneMatch((window) -> window.contains(now))) {
				return new HoldBack(ThrottleReason.TIME_WINDOW,
						"outside the allowed time windows " + windows + " (" + this.settings.timeZone() + ")");
			}
		}
		return null;
	}

	/**
	 * Why the backfill holds back.
	 *
	 * @param reason the kind of reason
	 * @param description the reason in words
	 */
	record HoldBack(ThrottleReason reason, String description) {

	}

}
