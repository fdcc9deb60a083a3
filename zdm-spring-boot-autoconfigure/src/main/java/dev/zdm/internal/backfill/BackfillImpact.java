package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.Arrays;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.backfill.ApplicationLatency.Totals;
import dev.zdm.migration.MigrationDefinition;

/**
 * Reads what the workload feels while the copy runs, against what it felt while the copy
 * paused: a probe (an index point read on the migration's table, timed on the run's
 * connection) after each batch, the application's own database calls over the batch and
 * its pause when they can be read, and whether autovacuum works on the table. The
 * baseline is learned in a short window with no batch before the copy starts and again
 * every {@link #BASELINE_EVERY}, so that it follows the workload as it changes.
 */
final class BackfillImpact {

	/**
	 * How often the copy stops for a baseline window: often enough to follow a workload
	 * that grows or shrinks, rarely enough to cost little (2.5% of the copy's time).
	 */
	static final Duration BASELINE_EVERY = Duration.ofSeconds(10);

	/**
	 * How long a baseline window lasts: long enough for a workload of a few hundred calls
	 * per second to show in the application's figures.
	 */
	static final Duration BASELINE_WINDOW = Duration.ofMillis(250);

	private static final int BASELINE_PROBES = 8;

	private static final int PROBES_IN_A_ROW = 3;

	/**
	 * Fewest application calls a window must hold for their mean to count.
	 */
	private static final long MIN_APPLICATION_CALLS = 20;

	/**
	 * The resolution of the application's figures: HikariCP times a connection's usage in
	 * whole milliseconds, so one call among n that crosses into the next millisecond
	 * moves their mean by 1/n ms, whatever the workload feels.
	 */
	static final long APPLICATION_RESOLUTION_NANOS = Duration.ofMillis(1).toNanos();

	/**
	 * How many calls of each window may cross into the next millisecond by chance.
	 */
	private static final int APPLICATION_CHANCE_CROSSINGS = 2;

	private static final long AUTOVACUUM_CHECK_NANOS = Duration.ofSeconds(1).toNanos();

	private final MigrationDefinition migration;

	private final BackfillBatches batches;

	private final @Nullable ApplicationLatency applicationLatency;

	private final BackfillStopSignal signal;

	private double baselineProbe = Double.NaN;

	private double baselineApplication = Double.NaN;

	private long baselineApplicationCalls;

	private long baselineAt;

	private @Nullable Totals windowStart;

	private long autovacuumCheckedAt;

	private @Nullable TailSampler sampler;

	private @Nullable String autovacuumPhase;

	BackfillImpact(MigrationDefinition migration, BackfillBatches batches,
			@Nullable ApplicationLatency applicationLatency, BackfillStopSignal signal) {
		this.migration = migration;
		this.batches = batches;
		this.applicationLatency = applicationLatency;
		this.signal = signal;
	}

	/**
	 * Read the workload's tail from the probes of a sampler from now on.
	 * @param sampler the sampler, or {@code null} to stop reading it
	 */
	void sampleTail(@Nullable TailSampler sampler) {
		this.sampler = sampler;
	}

	/**
	 * Say whether a copy batch runs now, for the probes that tell the copy's moments from
	 * its pauses.
	 * @param running whether a batch runs
	 */
	void batch(boolean running) {
		TailSampler sampler = this.sampler;
		if (sampler != null) {
			sampler.batch(running);
		}
	}

	/**
	 * Whether a baseline window is due: none yet, or the last one is older than
	 * {@link #BASELINE_EVERY}.
	 */
	boolean baselineDue() {
		return this.baselineAt == 0 || System.nanoTime() - this.baselineAt >= BASELINE_EVERY.toNanos();
	}

	/**
	 * Learn the baseline in a window with no batch: probes spread over
	 * {@link #BASELINE_WINDOW}, and the application's calls made meanwhile.
	 * @param repository the run's repository
	 * @param key a key of the table to probe
	 */
	void learnBaseline(BackfillRepository repository, String key) {
		Totals before = totals();
		TailSampler sampler = this.sampler;
		if (sampler != null) {
			sampler.baselineWindow(true);
		}
		// the same estimator as after a batch (the fastest of a few probes in a row),
		// taken several times across the window, and its median
		long[] fastest = new long[BASELINE_PROBES];
		Duration spacing = BASELINE_WINDOW.dividedBy(BASELINE_PROBES);
		for (int i = 0; i < fastest.length; i++) {
			this.signal.sleep(spacing);
			fastest[i] = fastestProbe(repository, key);
		}
		this.baselineProbe = median(fastest);
		if (sampler != null) {
			sampler.baselineWindow(false);
		}
		Totals after = totals();
		if (before != null && after != null && after.calls() - before.calls() >= MIN_APPLICATION_CALLS) {
			this.baselineApplication = after.meanSince(before);
			this.baselineApplicationCalls = after.calls() - before.calls();
		}
		this.windowStart = after;
		this.baselineAt = System.nanoTime();
	}

	/**
	 * Read what the workload feels now, after a batch.
	 * @param repository the run's repository
	 * @param key a key of the table to probe
	 * @param budget the factor over the baseline the workload's calls may take
	 * @return the reading
	 */
	Reading read(BackfillRepository repository, String key, double budget) {
		long probe = fastestProbe(repository, key);
		double application = Double.NaN;
		double applicationNoise = Double.NaN;
		Totals now = totals();
		Totals start = this.windowStart;
		if (now != null && start != null && now.calls() - start.calls() >= MIN_APPLICATION_CALLS) {
			application = now.meanSince(start);
			if (this.baselineApplicationCalls > 0) {
				applicationNoise = applicationNoise(this.baselineApplicationCalls, now.calls() - start.calls());
			}
			this.windowStart = now;
		}
		long checkedAt = System.nanoTime();
		if (this.autovacuumCheckedAt == 0 || checkedAt - this.autovacuumCheckedAt >= AUTOVACUUM_CHECK_NANOS) {
			this.autovacuumPhase = repository.autovacuumPhase(this.migration.table().quoted());
			this.autovacuumCheckedAt = checkedAt;
		}
		TailSampler sampler = this.sampler;
		Tail tail = (sampler != null) ? sampler.tail(budget) : null;
		SlowTail slowTail = (sampler != null) ? sampler.slowTail(budget) : null;
		double busyShare = (sampler != null) ? sampler.busyShare() : Double.NaN;
		return new Reading(probe, this.baselineProbe, application, this.baselineApplication, this.autovacuumPhase, tail,
				slowTail, busyShare, applicationNoise);
	}

	/**
	 * The fastest of a few probes in a row: a busy server slows them all, while one
	 * descheduled probe on a shared machine does not count.
	 */
	private long fastestProbe(BackfillRepository repository, String key) {
		long fastest = Long.MAX_VALUE;
		for (int i = 0; i < PROBES_IN_A_ROW; i++) {
			fastest = Math.min(fastest, this.batches.probe(repository, key));
		}
		return fastest;
	}

	private @Nullable Totals totals() {
		return (this.applicationLatency != null) ? this.applicationLatency.totals() : null;
	}

	private static double median(long[] values) {
		long[] sorted = values.clone();
		Arrays.sort(sorted);
		int middle = sorted.length / 2;
		return (sorted.length % 2 == 1) ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0;
	}

	/**
	 * Return how far the mean of the application's calls in a reading may lie above its
	 * baseline by chance: two calls of each window crossing into the next millisecond.
	 * With a few dozen calls a window (a light workload) that is about 0.1 ms; with
	 * thousands, a few microseconds.
	 * @param baselineCalls the calls in the baseline window
	 * @param calls the calls in the reading's window
	 * @return the excess that is noise, in nanoseconds
	 */
	static double applicationNoise(long baselineCalls, long calls) {
		return APPLICATION_CHANCE_CROSSINGS * ((double) APPLICATION_RESOLUTION_NANOS / baselineCalls
				+ (double) APPLICATION_RESOLUTION_NANOS / calls);
	}

	/**
	 * What the workload feels after a batch, and what it felt in the last baseline
	 * window; times in nanoseconds, {@code NaN} where unknown.
	 *
	 * @param probe the fastest of the probes in a row after the batch
	 * @param baselineProbe the median of the same in the baseline window
	 * @param application the mean of the application's calls since the last reading
	 * @param baselineApplication their mean in the baseline window
	 * @param autovacuumPhase the phase of an autovacuum on the table, or {@code null}
	 * @param tail the probes taken at any moment since the last reading with enough of
	 * them, or {@code null} if none
	 * @param slowTail the probes since the last reading of the slow tail against the
	 * slowest 1% of those taken while the copy paused, once they tell, or {@code null}
	 * @param busyShare the share of the sampler's latest checks that found another
	 * session busy, known from its first checks on (before the first tail), or
	 * {@code NaN}
	 * @param applicationNoise how far {@code application} may lie above
	 * {@code baselineApplication} by chance ({@link #applicationNoise(long, long)}), or
	 * {@code NaN} if unknown (then none)
	 */
	record Reading(double probe, double baselineProbe, double application, double baselineApplication,
			@Nullable String autovacuumPhase, @Nullable Tail tail, @Nullable SlowTail slowTail, double busyShare,
			double applicationNoise) {

		Reading(double probe, double baselineProbe, double application, double baselineApplication,
				@Nullable String autovacuumPhase, @Nullable Tail tail, double busyShare) {
			this(probe, baselineProbe, application, baselineApplication, autovacuumPhase, tail, null, busyShare);
		}

		Reading(double probe, double baselineProbe, double application, double baselineApplication,
				@Nullable String autovacuumPhase, @Nullable Tail tail, @Nullable SlowTail slowTail, double busyShare) {
			this(probe, baselineProbe, application, baselineApplication, autovacuumPhase, tail, slowTail, busyShare,
					Double.NaN);
		}

		/**
		 * Whether the application's calls take longer than their baseline by more than a
		 * budget allows, beyond the noise.
		 * @param budget the factor over the baseline the calls may take
		 * @return whether they do; {@code false} if either mean is unknown
		 */
		boolean applicationOver(double budget) {
			if (Double.isNaN(this.application) || Double.isNaN(this.baselineApplication)) {
				return false;
			}
			double noise = Double.isNaN(this.applicationNoise) ? 0 : this.applicationNoise;
			return this.application > this.baselineApplication * budget + noise;
		}

	}

}
