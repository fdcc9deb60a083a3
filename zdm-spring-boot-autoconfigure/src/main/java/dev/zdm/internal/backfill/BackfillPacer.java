package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.LocalTime;
import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.ddl.MigrationPlan;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.internal.locks.ReplicationLagInspector.Replica;
import dev.zdm.internal.locks.TableLockFigures;
import dev.zdm.internal.locks.WalInspector;
import dev.zdm.internal.locks.WalInspector.ArchiveBacklog;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.TimeWindow;

/**
 * Decides how large the next batch is and whether the backfill should hold back now.
 */
public final class BackfillPacer {

	/**
	 * The copy's share of time at the start: half, until the first readings say more.
	 */
	static final double INITIAL_DUTY = 0.5;

	/**
	 * The least share of time the copy keeps while the workload feels it: with batches of
	 * {@link #MIN_BATCH_NANOS}, a pause of about 195 ms, as the fixed setting that kept
	 * the workload's p99 within 1.2x in issue 21's measurement (5 ms batches, 200 ms
	 * pause).
	 */
	static final double MIN_DUTY = MigrationPlanner.LEAST_SHARE;

	/**
	 * How much the copy's share of time grows after a batch the workload did not feel:
	 * from the least share to all the time in about 40 batches.
	 */
	static final double DUTY_STEP = 0.025;

	static final long INITIAL_BATCH_NANOS = Duration.ofMillis(20).toNanos();

	/**
	 * The share of time the copy takes when a workload appears beside it, and the longest
	 * batches then: measured on PostgreSQL 15 under issue 21's pgbench workload, the
	 * workload's p99 stayed within 1.1x with the copy running 2.5% of the time, whatever
	 * the batches' length (5 to 50 ms), and went to 1.75x to 3x at 5% to 10%. From here
	 * the copy speeds up only while the slow tail reads calm.
	 */
	static final double WORKLOAD_DUTY = 0.025;

	/**
	 * The shortest batches the pacing goes down to: 5 ms, the fixed batch length that
	 * kept the workload's p99 within 1.2x in issue 21's measurement.
	 */
	static final long MIN_BATCH_NANOS = MigrationPlanner.LEAST_BATCH.toNanos();

	/**
	 * Below this a probe's excess over its baseline is noise: a JDBC round trip of a
	 * point read varies by tens of microseconds on an idle server.
	 */
	static final long PROBE_NOISE_NANOS = Duration.ofNanos(50_000).toNanos();

	/**
	 * How the words of a pace that holds the copy at less than all the time, with no
	 * signal over the budget now, begin.
	 */
	static final String SPEEDING_UP = "speeding up again";

	/**
	 * How the words of a pace begin that holds the copy where it is, at less than all the
	 * time, while a signal reads over the budget once, not yet confirmed, or the
	 * workload's tail is not calm.
	 */
	static final String HOLDING = "holding";

	private final MigrationDefinition migration;

	// replaced by an operator's live change (BackfillRunner#tune), read by the run
	private volatile BackfillSettings settings;

	private final LockInspector lockInspector;

	/**
	 * Whether an operator changed the latency budget since the last pace: what slowed the
	 * copy was read against the earlier one.
	 */
	private volatile boolean budgetChanged;

	private final List<BackfillThrottle> throttles;

	private final @Nullable ReplicationLagInspector replicationLagInspector;

	private final @Nullable WalInspector walInspector;

	/**
	 * The share of time the copy runs, between {@link #MIN_DUTY} and 1.
	 */
	private double duty = INITIAL_DUTY;

	/**
	 * How long the next batch should take, between {@link #MIN_BATCH_NANOS} and the
	 * target batch duration.
	 */
	private double batchNanos;

	private @Nullable ThrottleReason lastOver;

	private @Nullable String lastWhy;

	/**
	 * The signal that last brought the copy's share of time down, under which the pauses
	 * it keeps while it grows back count as time held back ({@code table-latency} for a
	 * workload that appeared beside the copy, whose slow tail the copy grows by).
	 */
	private @Nullable ThrottleReason lastReason;

	/**
	 * Whether the last reading of the workload's tail kept the copy from speeding up (it
	 * was over the budget, or between calm and over): the copy does not speed up again
	 * until one reads calm.
	 */
	private boolean tailHolds;

	/**
	 * Whether the last reading that could tell found a workload beside the copy.
	 */
	private boolean underWorkload;

	BackfillPacer(MigrationDefinition migration, BackfillSettings settings, LockInspector lockInspector,
			List<BackfillThrottle> throttles) {
		this(migration, settings, lockInspector, null, null, throttles);
	}

	BackfillPacer(MigrationDefinition migration, BackfillSettings settings, LockInspector lockInspector,
			@Nullable ReplicationLagInspector replicationLagInspector, @Nullable WalInspector walInspector,
			List<BackfillThrottle> throttles) {
		this.migration = migration;
		this.settings = settings;
		this.lockInspector = lockInspector;
		this.replicationLagInspector = replicationLagInspector;
		this.walInspector = walInspector;
		this.throttles = throttles;
		this.batchNanos = Math.min(INITIAL_BATCH_NANOS, settings.targetBatchDuration().toNanos());
	}

	/**
	 * Pace by other settings from now on, as when an operator changed them live.
	 * @param settings the settings
	 */
	void tune(BackfillSettings settings) {
		if (Double.compare(settings.maxLatencyIncrease(), this.settings.maxLatencyIncrease()) != 0) {
			this.budgetChanged = true;
		}
		this.settings = settings;
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
	 * Return the pace of the next copy batch from how the last one went and what the
	 * workload felt: additive increase, multiplicative decrease of the share of time the
	 * copy runs, and of the batches' length. While the workload feels nothing beyond the
	 * budget, batches grow by half up to {@code target-batch-duration} (and
	 * {@code max-batch-size}) and the pause shrinks until the copy runs all the time;
	 * when a signal goes over, both the batches' length and the copy's share of time
	 * halve at once. The rows per second ceiling then lengthens the pause if it must.
	 * With pacing off ({@link BackfillSettings#withoutPacing()}, an infinite budget) the
	 * batch size follows {@link #nextBatchSize(int, Duration)} and the pause is the fixed
	 * one.
	 * @param rows the rows the last batch walked
	 * @param batchSize the last batch's size
	 * @param took how long the last batch took
	 * @param reading what the workload felt, or {@code null} if not read
	 * @return the pace of the next batch
	 */
	Pace nextPace(long rows, int batchSize, Duration took, BackfillImpact.@Nullable Reading reading) {
		long tookNanos = Math.max(1, took.toNanos());
		int size;
		long pauseNanos;
		ThrottleReason reason = null;
		String why = null;
		long pauseSetting = this.settings.pause().toNanos();
		if (this.budgetChanged) {
			// the readings over the earlier budget no longer hold the copy back, nor do
			// their words say why it is slow: it speeds up against the new one from here
			this.budgetChanged = false;
			this.lastOver = null;
			this.tailHolds = false;
			if (this.lastWhy != null) {
				this.lastWhy = isPacing()
						? String.format(Locale.ROOT,
								"the latency budget was changed live to at most %.2fx (max-latency-increase)", budget())
						: null;
			}
		}
		// whether the pause setting, not the pacing, sets the pause now
		boolean settingPauses;
		// whether a signal over the budget, not yet confirmed, or a tail not calm keeps
		// the copy's share where it is
		boolean holding = false;
		if (!isPacing() || reading == null) {
			size = nextBatchSize(batchSize, took);
			pauseNanos = pauseSetting;
			settingPauses = pauseSetting > 0;
		}
		else {
			double budget = budget();
			String over = null;
			boolean idle = false;
			if (reading.autovacuumPhase() != null) {
				reason = ThrottleReason.AUTOVACUUM;
				over = "autovacuum works on " + this.migration.table() + " (" + reading.autovacuumPhase() + ")";
			}
			else if (reading.applicationOver(budget)) {
				reason = ThrottleReason.APPLICATION_LATENCY;
				over = String.format(Locale.ROOT,
						"the application's database calls take %.2f ms against %.2f ms while the copy pauses "
								+ "(%.2fx, at most %.2fx)",
						reading.application() / 1e6, reading.baselineApplication() / 1e6,
						reading.application() / reading.baselineApplication(), budget);
			}
			else if (reading.tail() != null && reading.tail().over()) {
				Tail tail = reading.tail();
				reason = ThrottleReason.TABLE_LATENCY;
				over = String.format(Locale.ROOT,
						"%.0f%% of %d point reads on %s taken at any moment of the copy took longer than %.3f ms "
								+ "(the slowest 5%% while the copy pauses, %.2fx), at most %.0f%% by chance; other "
								+ "sessions busy %.0f%% of the time",
						tail.share() * 100, tail.probes(), this.migration.table(), tail.threshold() / 1e6, budget,
						tail.allowed() * 100, tail.busyShare() * 100);
			}
			else if (reading.slowTail() != null && reading.slowTail().over()) {
				SlowTail slow = reading.slowTail();
				reason = ThrottleReason.TABLE_LATENCY;
				over = String.format(Locale.ROOT,
						"%.1f%% of the last %d point reads on %s took longer than %.3f ms (the slowest 1%% while the "
								+ "copy pauses, %.2fx): at least 19 to 1 that the copy slows %.1f%% of them rather "
								+ "than %.2f%%; other sessions busy %.0f%% of the time",
						slow.share() * 100, slow.probes(), this.migration.table(), slow.threshold() / 1e6, budget,
						SlowTail.OVER_SHARE * 100, SlowTail.CALM_SHARE * 100, slow.busyShare() * 100);
			}
			else if (!Double.isNaN(reading.baselineProbe())
					&& reading.probe() > reading.baselineProbe() * budget + PROBE_NOISE_NANOS
					&& !Boolean.FALSE.equals(workload(reading))) {
				// with no other session busy, the probe is the only read the copy slows,
				// as for the tails: an idle copy of a million rows paced a third of its
				// last tenth by it
				reason = ThrottleReason.TABLE_LATENCY;
				over = String.format(Locale.ROOT,
						"a point read on %s takes %.3f ms against %.3f ms while the copy pauses (%.2fx, at most %.2fx)",
						this.migration.table(), reading.probe() / 1e6, reading.baselineProbe() / 1e6,
						reading.probe() / reading.baselineProbe(), budget);
			}
			long longest = this.settings.targetBatchDuration().toNanos();
			// within a target batch duration an operator may have lowered
			this.batchNanos = Math.min(this.batchNanos, longest);
			// one reading over the budget may be noise on a busy machine: two in a row
			// (or autovacuum, or the tail, whose reading already counts many probes
			// against chance) make the copy back off
			Tail tail = reading.tail();
			if (tail != null) {
				this.tailHolds = !tail.calm();
			}
			SlowTail slowTail = reading.slowTail();
			boolean confirmed = over != null && (this.lastOver == reason || reason == ThrottleReason.AUTOVACUUM
					|| (tail != null && tail.over()) || (slowTail != null && slowTail.over()));
			this.lastOver = reason;
			Boolean workload = workload(reading);
			if (workload != null) {
				if (workload && !this.underWorkload) {
					// a workload appeared: the share measured to leave its p99 alone,
					// from which the slow tail's readings let the copy grow
					this.duty = Math.min(this.duty, WORKLOAD_DUTY);
					this.batchNanos = Math.min(this.batchNanos, INITIAL_BATCH_NANOS);
					this.lastReason = ThrottleReason.TABLE_LATENCY;
					this.lastWhy = String.format(Locale.ROOT,
							"a workload runs beside the copy (other sessions busy %.0f%% of the time): it starts at "
									+ "%.1f%% of the time and speeds up while the slowest 1%% of the point reads on %s "
									+ "stays within %.2fx of the copy's pauses",
							reading.busyShare() * 100, WORKLOAD_DUTY * 100, this.migration.table(), budget);
				}
				this.underWorkload = workload;
			}
			if (confirmed) {
				this.batchNanos = Math.max(Math.min(MIN_BATCH_NANOS, longest), this.batchNanos / 2);
				this.duty = Math.max(MIN_DUTY, this.duty / 2);
				this.lastWhy = reason.value() + ": " + over;
				this.lastReason = reason;
				why = over;
			}
			else {
				reason = null;
				holding = over != null || this.tailHolds;
				if (over == null && Boolean.FALSE.equals(workload)) {
					// the increase in small steps looks for what a workload bears; with
					// none there is nothing to look for, and the ramp from half the time
					// cost an idle copy of a million rows a fifth of its speed
					this.batchNanos = longest;
					this.duty = 1;
					idle = true;
				}
				else if (over == null && !this.tailHolds
						&& (!this.underWorkload || (slowTail != null && slowTail.calm()))) {
					// under a workload, one step per calm reading of the slow
					// tail (seconds to a minute apart), the only reading that
					// sees its p99: half as much again while it reads no more
					// slow probes than a copy the workload bears
					this.batchNanos = Math.min(longest, this.batchNanos * 1.5);
					boolean untouched = this.underWorkload && slowTail != null && slowTail.untouched();
					this.duty = Math.min(1,
							untouched ? Math.max(this.duty * 1.5, this.duty + DUTY_STEP) : this.duty + DUTY_STEP);
				}
			}
			double nanosPerRow = (double) tookNanos / Math.max(1, rows);
			long wanted = Math.round(this.batchNanos / nanosPerRow);
			// batches grow at most twice the rows at a time, unless no one is there to
			// feel one that runs longer than it should
			long most = idle ? this.settings.maxBatchSize() : Math.min(this.settings.maxBatchSize(), 2L * batchSize);
			size = (int) Math.max(this.settings.minBatchSize(), Math.min(most, wanted));
			long paced = Math.round(tookNanos * (1 - this.duty) / this.duty);
			// the pause the share adds waits at most a throttle check interval before the
			// next reading; the user's own pause is kept whole
			pauseNanos = Math.max(pauseSetting, Math.min(paced, this.settings.throttleCheckInterval().toNanos()));
			settingPauses = pauseSetting > 0 && pauseSetting >= paced;
		}
		long ceiling = this.settings.maxRowsPerSecond();
		if (ceiling > 0) {
			// the ceiling is hard: it bounds a batch below the smallest batch size too
			size = (int) Math.max(1, Math.min(size, ceiling));
			// the next batch runs about as fast per row as this one
			double nextNanos = (double) tookNanos / Math.max(1, rows) * size;
			long cycle = Math.round(size * 1e9 / ceiling);
			// and this batch's rows are spent at the ceiling before the next starts: a
			// next batch faster than this one (this one slowed by a busy machine) would
			// otherwise start early and copy above the ceiling (a second's worth at
			// most: a batch sized before an operator lowered the ceiling is not made up
			// for)
			long spent = Math.round(Math.min(rows, ceiling) * 1e9 / ceiling) - tookNanos;
			long needed = Math.max(Math.round(cycle - nextNanos), spent);
			if (needed > pauseNanos) {
				pauseNanos = needed;
				if (why == null) {
					reason = ThrottleReason.ROWS_PER_SECOND;
					why = "at most " + ceiling + " rows/s (max-rows-per-second)";
				}
			}
		}
		Duration pause = Duration.ofNanos(Math.max(0, pauseNanos));
		String pace = "batches of " + size + " rows, " + pause.toMillis() + " ms pause";
		String pacedBy = null;
		ThrottleReason heldBy = reason;
		if (reason != null) {
			pacedBy = reason.value() + ": " + why + "; " + pace;
		}
		else if (settingPauses && pauseNanos == pauseSetting) {
			// a fixed pace a user chose is no full pace: say which setting holds it
			pacedBy = "the pause setting: at least " + this.settings.pause().toMillis() + " ms between batches; "
					+ pace;
		}
		else if (isPacing() && this.duty < 1 && this.lastWhy != null) {
			// an outside run read "speeding up again" while the tail read 112x its budget
			// and nothing sped up
			pacedBy = holding
					? String.format(Locale.ROOT,
							HOLDING + ", the copy runs %.0f%% of the time while the workload's reads are not calm, "
									+ "after %s; %s",
							this.duty * 100, this.lastWhy, pace)
					: String.format(Locale.ROOT, SPEEDING_UP + ", the copy runs %.0f%% of the time, after %s; %s",
							this.duty * 100, this.lastWhy, pace);
			// the pause that keeps it there is time held back, as the words say: under
			// the signal that brought it down
			heldBy = (this.lastReason != null) ? this.lastReason : ThrottleReason.TABLE_LATENCY;
		}
		return new Pace(size, pause, reason, heldBy, pacedBy);
	}

	/**
	 * Whether a reading shows a workload beside the copy: the other sessions of the
	 * database were busy in at least {@link TailSampler#MIN_BUSY_SHARE} of the sampler's
	 * checks so far (the same checks a tail reading counts, known before the first one);
	 * {@code null} if it cannot tell yet. The application's calls through the pool do not
	 * tell: the sampler's own probes borrow the pool's connections, a hundred a second.
	 */
	private static @Nullable Boolean workload(BackfillImpact.Reading reading) {
		return Double.isNaN(reading.busyShare()) ? null : reading.busyShare() >= TailSampler.MIN_BUSY_SHARE;
	}

	/**
	 * The factor over the baseline the workload's calls may take while the copy runs.
	 */
	double budget() {
		return 1 + this.settings.maxLatencyIncrease();
	}

	/**
	 * Whether the copy is paced by what the workload feels (a finite latency budget).
	 */
	boolean isPacing() {
		return Double.isFinite(this.settings.maxLatencyIncrease());
	}

	/**
	 * The pace of the next copy batch.
	 *
	 * @param batchSize the most rows it walks
	 * @param pause the pause before it
	 * @param reason the signal that holds the copy back now, or {@code null} if none does
	 * @param heldBy the signal the pause counts under as time held back: the one that
	 * holds the copy back now, or the one that brought its share of time down while it
	 * grows back; {@code null} for a pause that holds nothing back (a user's fixed pause)
	 * @param pacedBy that signal and by how much, in words, or {@code null}
	 */
	record Pace(int batchSize, Duration pause, @Nullable ThrottleReason reason, @Nullable ThrottleReason heldBy,
			@Nullable String pacedBy) {

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
			if (checkLocks && figures.tableLockWaiters() > this.settings.maxLockWaiters()) {
				return new HoldBack(ThrottleReason.LOCK_WAITERS,
						figures.tableLockWaiters() + " sessions wait for a lock on " + this.migration.table()
								+ " (longest for " + figures.longestWait() + ", at most "
								+ this.settings.maxLockWaiters() + " allowed)");
			}
			Duration oldest = figures.oldestTransactionAge();
			if (checkTransactions && oldest != null && oldest.compareTo(this.settings.maxTransactionAge()) > 0) {
				LockInspector.OldestTransaction transaction = figures.oldestTransaction();
				String who = (transaction != null) ? transaction.who() : "pid " + figures.oldestTransactionPid();
				String query = (transaction != null) ? transaction.query() : null;
				return new HoldBack(ThrottleReason.OLD_TRANSACTION,
						"the transaction of " + who + " has been open for " + oldest + " (at most "
								+ this.settings.maxTransactionAge() + " allowed)"
								+ ((query != null) ? "; its query: " + query : ""));
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
		HoldBack wal = (this.walInspector != null) ? walHoldBack(this.walInspector) : null;
		if (wal != null) {
			return wal;
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
	 * Return why the copy should hold back for the database's WAL: the segments waiting
	 * for the archiver, which fill its disk and widen the recovery point while the
	 * archiver is behind, or the WAL it writes per second (the copy's own included).
	 */
	private @Nullable HoldBack walHoldBack(WalInspector wal) {
		long maxBacklog = this.settings.maxWalArchiveBacklog();
		if (maxBacklog > 0) {
			ArchiveBacklog backlog = wal.archiveBacklog();
			if (backlog.readable() && backlog.readySegments() > maxBacklog) {
				return new HoldBack(ThrottleReason.WAL_ARCHIVE_BACKLOG,
						backlog.readySegments() + " WAL segments ("
								+ MigrationPlan.formatBytes(backlog.readySegments() * backlog.segmentBytes())
								+ ") wait to be archived, at most " + maxBacklog + " (max-wal-archive-backlog)");
			}
		}
		long maxRate = this.settings.maxWalRate();
		if (maxRate > 0) {
			Double rate = wal.walRate();
			if (rate != null && rate > maxRate) {
				return new HoldBack(ThrottleReason.WAL_RATE,
						"the database writes " + MigrationPlan.formatBytes(Math.round(rate)) + "/s of WAL, at most "
								+ MigrationPlan.formatBytes(maxRate) + "/s (max-wal-rate)");
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
