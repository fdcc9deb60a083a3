package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

import dev.zdm.migration.MigrationDefinition;

/**
 * Times a point read on the migration's table every {@link #EVERY}, on a thread of its
 * own and a connection of the pool borrowed for each read, while the copy runs and while
 * it pauses for a baseline: the reads land at any moment of a batch, its commit and its
 * pause, as the workload's calls do, so their slowest share shows what the workload's
 * tail feels (the probe after a batch, on the runner's connection, only ever sees the
 * server between two batches). Two readings come of them: the {@link #tail(double) tail},
 * a few dozen reads against the baseline's slowest 5%, which sees a copy that slows many
 * calls within a batch or two, and the {@link #slowTail(double) slow tail}, the reads
 * since its last reading against the slowest 1% of those taken while the copy paused,
 * read as soon as they tell a copy that slows the 1.5% of the calls that raise a p99 from
 * one that slows fewer than 1%. It also checks whether the other sessions of the database
 * are busy, so that a slower tail counts only while there is a workload to feel it: on an
 * idle database a copy that slows the probe slows no one.
 */
final class TailSampler {

	private static final Log logger = LogFactory.getLog(TailSampler.class);

	/**
	 * How often a probe runs: 100 point reads a second, about 1% of a core.
	 */
	static final Duration EVERY = Duration.ofMillis(10);

	/**
	 * The share of baseline probes a probe must be slower than to count as slow, before
	 * the budget is added: the slowest 5% while the copy pauses.
	 */
	static final double BASELINE_QUANTILE = 0.95;

	/**
	 * Fewest probes a reading needs; fewer and it waits for the next batch.
	 */
	static final int MIN_PROBES = 30;

	/**
	 * The share of checks that must find another session of the database busy (running a
	 * statement or inside a transaction) for a workload to count as present: a workload
	 * of a few hundred short transactions a second is busy a tenth of the time and more,
	 * an idle application's heartbeats far less than 1%.
	 */
	static final double MIN_BUSY_SHARE = 0.02;

	/**
	 * Checks of the other sessions the busy share spans while it finds a workload, one
	 * every other read: the last 3 seconds or so, so that a workload that appears counts
	 * within half a second.
	 */
	private static final int BUSY_CHECKS = 150;

	/**
	 * Checks of the other sessions that must find no workload before one that was there
	 * counts as gone: about 10 seconds. A copy with no workload beside it goes to full
	 * pace at once, so a lull of a few seconds in a steady workload (seen beside
	 * pgbench's 400 transactions a second: the copy went from 8% of the time to full pace
	 * and back) must not read as its end.
	 */
	private static final int QUIET_CHECKS = 500;

	/**
	 * Fewest checks of the other sessions a busy share needs before a tail is read: the
	 * baseline window before the copy's first batches holds about a dozen.
	 */
	static final int MIN_BUSY_CHECKS = 10;

	private static final int BASELINE_CAPACITY = 128;

	/**
	 * The share of the probes taken while the copy pauses that a probe must be slower
	 * than, before the budget is added, to count in the slow tail's test: their slowest
	 * 1%, as a p99 is.
	 */
	static final double PAUSED_QUANTILE = 0.99;

	/**
	 * Fewest probes a reading of the slow tail counts: a second's worth. A copy that
	 * slows one probe in ten reads over at the first reading, one that slows none calm
	 * after 389 probes, one at the break-even share may take many thousands.
	 */
	static final int MIN_SLOW_TAIL_PROBES = 100;

	/**
	 * Most probes a reading of the slow tail counts: about a minute's worth. A copy whose
	 * share of slow probes sits between the two (neither told from the other by then)
	 * gets a reading that is neither over nor calm, and keeps its pace.
	 */
	static final int MAX_SLOW_TAIL_PROBES = 6000;

	/**
	 * Fewest probes taken while the copy paused before the slow tail is read: their
	 * slowest 1% is then the slowest few.
	 */
	static final int MIN_PAUSED_PROBES = 200;

	private static final int PAUSED_CAPACITY = 1000;

	/**
	 * How long after a batch a probe still counts as the copy's: a batch's commit, its
	 * WAL and the pages it dirtied are felt for a moment after it.
	 */
	static final Duration AFTER_BATCH = Duration.ofMillis(20);

	/**
	 * Reads before the first that counts: the first reads on a new connection, or after
	 * the pool opened one, pay for planning and caching.
	 */
	private static final int WARM_UP_PROBES = 10;

	/**
	 * How long the sampler waits after a probe failed before the next.
	 */
	static final Duration RETRY_AFTER = Duration.ofSeconds(1);

	/**
	 * How long the probes fail before the sampler warns that the pacing reads no workload
	 * through them: a probe that fails now and then (a statement timeout behind another
	 * session's lock, a database restarting) is told at {@code INFO}; one that fails for
	 * this long is most often a connection that cannot be had.
	 */
	static final Duration WARN_AFTER = Duration.ofSeconds(15);

	private final DataSource dataSource;

	// WARN_AFTER, shorter in tests
	private volatile Duration warnAfter = WARN_AFTER;

	private final MigrationDefinition migration;

	private final BackfillBatches copyBatches;

	private final Object lock = new Object();

	private final long[] baseline = new long[BASELINE_CAPACITY];

	private int baselineCount;

	private int baselineNext;

	private long[] copying = new long[256];

	private int copyingCount;

	// probes taken while no batch ran (nor had just run): the slow tail's yardstick
	private final long[] paused = new long[PAUSED_CAPACITY];

	private int pausedCount;

	private int pausedNext;

	// every probe since the last reading of the slow tail, at any moment of the copy, up
	// to the most a reading counts
	private final long[] recent = new long[MAX_SLOW_TAIL_PROBES];

	private int recentCount;

	private volatile boolean inBatch;

	private volatile long batches;

	private volatile long batchEndedAt;

	private final boolean[] busy = new boolean[QUIET_CHECKS];

	private int busyChecks;

	private long checks;

	private int busyNext;

	private volatile boolean inBaseline;

	private volatile boolean running;

	/**
	 * Whether the probes run on a pool of their own, not on the application's.
	 */
	private volatile boolean ownPool;

	private @Nullable Thread thread;

	TailSampler(DataSource dataSource, MigrationDefinition migration, BackfillBatches batches) {
		this.dataSource = dataSource;
		this.migration = migration;
		this.copyBatches = batches;
		// no batch yet: the probes before the first are taken while the copy pauses
		this.batchEndedAt = System.nanoTime() - AFTER_BATCH.toNanos();
	}

	/**
	 * Start probing a key of the table.
	 * @param key the key to read
	 * @param copyPids the backends of the copy, which do not count as a workload
	 */
	void start(String key, Integer... copyPids) {
		this.running = true;
		Thread started = new Thread(() -> sample(key, copyPids), "zdm-probe-" + this.migration.id());
		started.setDaemon(true);
		started.start();
		this.thread = started;
	}

	/**
	 * Stop probing and give the connection back.
	 */
	void stop() {
		this.running = false;
		Thread started = this.thread;
		if (started != null) {
			started.interrupt();
			try {
				started.join(Duration.ofSeconds(5).toMillis());
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
	}

	/**
	 * Say whether the copy pauses for a baseline window now: probes taken meanwhile are
	 * the baseline, the others the copy's.
	 * @param inBaseline whether a baseline window runs
	 */
	void baselineWindow(boolean inBaseline) {
		this.inBaseline = inBaseline;
	}

	/**
	 * Say whether a copy batch runs now: a probe that overlaps one, or starts within
	 * {@link #AFTER_BATCH} of its end, is not one taken while the copy pauses.
	 * @param running whether a batch runs
	 */
	void batch(boolean running) {
		if (running) {
			this.batches++;
		}
		else {
			this.batchEndedAt = System.nanoTime();
		}
		this.inBatch = running;
	}

	/**
	 * Return the slow tail once it tells: the probes taken at any moment of the copy
	 * since the last reading, counted against the slowest 1% of the probes taken while it
	 * paused with the budget added, as soon as they are at least 19 times likelier to
	 * come from a copy that slows {@link SlowTail#OVER_SHARE} of them than from one that
	 * slows {@link SlowTail#CALM_SHARE}, or the other way round, or after
	 * {@link #MAX_SLOW_TAIL_PROBES}; {@code null} until then. Each reading counts probes
	 * the last one did not. This is the test that sees a copy slowing 1% to 2% of the
	 * workload's calls, which doubles its p99 while its slowest 5% hardly move; a reading
	 * of a fixed few hundred probes could not tell those from chance.
	 * @param budget the factor over the paused probes a probe may take
	 * @return the slow tail, or {@code null}
	 */
	@Nullable SlowTail slowTail(double budget) {
		synchronized (this.lock) {
			if (this.recentCount < MIN_SLOW_TAIL_PROBES || this.pausedCount < MIN_PAUSED_PROBES) {
				return null;
			}
			double threshold = threshold(this.paused, this.pausedCount, PAUSED_QUANTILE, budget);
			SlowTail tail = new SlowTail(this.recentCount, slower(this.recent, this.recentCount, threshold), threshold,
					busyShareNow());
			if (!tail.over() && !tail.calm() && this.recentCount < MAX_SLOW_TAIL_PROBES) {
				return null;
			}
			if (logger.isDebugEnabled()) {
				logger.debug(String.format(Locale.ROOT,
						"zdm: migration '%s': slow tail: %d of %d point reads over %.3f ms (the slowest 1%% of %d "
								+ "taken while the copy paused, %.2fx), %s; other sessions busy %.1f%% of the time",
						this.migration.id(), tail.slow(), tail.probes(), threshold / 1e6, this.pausedCount, budget,
						tail.over() ? "over" : tail.calm() ? "calm" : "undecided", tail.busyShare() * 100));
			}
			this.recentCount = 0;
			return tail;
		}
	}

	/**
	 * Return the share of the probes taken while the copy ran since the last call that
	 * were slower than the slowest {@link #BASELINE_QUANTILE} of the baseline probes,
	 * with the budget added; {@code null} while too few probes were taken or no baseline
	 * is known. The probes are kept for the next call until there are
	 * {@link #MIN_PROBES}.
	 * @param budget the factor over the baseline a probe may take
	 * @return the tail, or {@code null}
	 */
	@Nullable Tail tail(double budget) {
		synchronized (this.lock) {
			if (this.copyingCount < MIN_PROBES || this.baselineCount < MIN_PROBES / 2) {
				return null;
			}
			double threshold = threshold(this.baseline, this.baselineCount, BASELINE_QUANTILE, budget);
			Tail tail = new Tail(this.copyingCount, slower(this.copying, this.copyingCount, threshold), threshold,
					busyShareNow());
			this.copyingCount = 0;
			return tail;
		}
	}

	// the yardstick's quantile with the budget and the noise of a round trip added
	private static double threshold(long[] yardstick, int yardstickCount, double quantile, double budget) {
		long[] sorted = Arrays.copyOf(yardstick, yardstickCount);
		Arrays.sort(sorted);
		long slow = sorted[Math.min(sorted.length - 1, (int) (sorted.length * quantile))];
		return slow * budget + BackfillPacer.PROBE_NOISE_NANOS;
	}

	private static int slower(long[] probes, int probeCount, double threshold) {
		int over = 0;
		for (int i = 0; i < probeCount; i++) {
			if (probes[i] > threshold) {
				over++;
			}
		}
		return over;
	}

	// under the lock
	private double busyShareNow() {
		if (this.busyChecks == 0) {
			return 0;
		}
		double recent = busyShare(Math.min(BUSY_CHECKS, this.busyChecks));
		// a workload seen in the last 3 seconds counts at once; one not seen there counts
		// as gone only if the last 10 seconds had none either
		return (recent >= MIN_BUSY_SHARE) ? recent : busyShare(this.busyChecks);
	}

	/**
	 * Return the share of the latest checks of the other sessions that found one busy:
	 * over the last 3 seconds or so, or, if that finds no workload, over the last 10
	 * seconds (a workload that was there counts as gone once 10 seconds found none).
	 * Known long before the first {@link #tail(double) tail}, which waits for
	 * {@link #MIN_PROBES} probes of the copy.
	 * @return the share, or {@code NaN} before {@link #MIN_BUSY_CHECKS} checks
	 */
	double busyShare() {
		synchronized (this.lock) {
			return (this.busyChecks < MIN_BUSY_CHECKS) ? Double.NaN : busyShareNow();
		}
	}

	// under the lock: the share of the latest checks that found another session busy;
	// until a window's worth of checks is made the checks still to come count as idle,
	// so that one stray busy check among the first few dozen (zdm's own start-up beside
	// the copy: 1 in 49 read as a workload) is no workload, while one busy a tenth of
	// the time still counts within 30 checks, about half a second
	private double busyShare(int latest) {
		int busy = 0;
		for (int i = 1; i <= latest; i++) {
			busy += this.busy[Math.floorMod(this.busyNext - i, this.busy.length)] ? 1 : 0;
		}
		return (double) busy / Math.max(latest, BUSY_CHECKS);
	}

	/**
	 * Return how many checks of the other sessions were made since the sampler started.
	 */
	long checks() {
		synchronized (this.lock) {
			return this.checks;
		}
	}

	/**
	 * Warn after the probes failed for a shorter time than {@link #WARN_AFTER}, as a test
	 * does.
	 * @param warnAfter how long
	 */
	void warnAfter(Duration warnAfter) {
		this.warnAfter = warnAfter;
	}

	/**
	 * Whether the probes run on a pool of their own rather than the application's.
	 */
	boolean ownPool() {
		return this.ownPool;
	}

	/**
	 * Return how many baseline probes are kept.
	 */
	int baselineProbes() {
		synchronized (this.lock) {
			return this.baselineCount;
		}
	}

	private void sample(String key, Integer[] copyPids) {
		try (ProbeDataSource probes = ProbeDataSource.of(this.dataSource, this.migration.id())) {
			this.ownPool = probes.isOwn();
			sample(new BackfillRepository(probes.dataSource()), key, copyPids);
		}
	}

	private void sample(BackfillRepository repository, String key, Integer[] copyPids) {
		long probed = 0;
		boolean failing = false;
		long failingSince = 0;
		boolean warned = false;
		try {
			while (this.running) {
				try {
					probed = probe(repository, key, copyPids, probed);
					if (failing) {
						failing = false;
						logger.info("zdm: migration '" + this.migration.id() + "': probing " + this.migration.table()
								+ " again");
					}
					Thread.sleep(EVERY.toMillis());
				}
				catch (DataAccessException ex) {
					// a read that failed (a statement timeout behind another session's
					// lock, a pool with no connection to spare, a database restarting)
					// ends one probe, not the probing: a copy of a large table runs for
					// hours, and without its probes it would neither grow nor back off
					// for the workload again
					if (!this.running) {
						return;
					}
					// the reads after it may be on new connections: warm them up again
					probed = 0;
					if (failing && !warned && System.nanoTime() - failingSince >= this.warnAfter.toNanos()) {
						warned = true;
						logger.warn(stillFailing(ex));
					}
					if (!failing) {
						failing = true;
						warned = false;
						failingSince = System.nanoTime();
						logger.info("zdm: migration '" + this.migration.id() + "': a probe of " + this.migration.table()
								+ " failed, trying again every " + RETRY_AFTER.toSeconds() + " s: "
								+ BackfillErrors.describe(ex));
					}
					Thread.sleep(RETRY_AFTER.toMillis());
				}
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	private String stillFailing(DataAccessException ex) {
		return "zdm: migration '" + this.migration.id() + "': the probes of " + this.migration.table()
				+ " have failed for " + Math.round(this.warnAfter.toMillis() / 1000.0) + " s ("
				+ BackfillErrors.describe(ex)
				+ "): until they work again the pacing reads neither a workload beside the copy nor its slow tail, "
				+ "only the probe between batches and the other signals. Where no connection can be had, the probes "
				+ "need one more connection per instance that runs a backfill, in the application's pool and in a "
				+ "pooler's limits (PgBouncer's default_pool_size); see docs/backfill.md, Connection pools and "
				+ "PgBouncer";
	}

	// one probe (and every other time a check of the other sessions); returns the probes
	// taken so far
	private long probe(BackfillRepository repository, String key, Integer[] copyPids, long probed) {
		if (probed % 2 == 0) {
			check(repository.othersBusy(copyPids) > 0);
		}
		boolean baselineBefore = this.inBaseline;
		long batchesBefore = this.batches;
		boolean pausedBefore = !this.inBatch && System.nanoTime() - this.batchEndedAt >= AFTER_BATCH.toNanos();
		// a connection of the pool for each read, so that the sampler holds none between
		// reads; only the read is timed
		long took = this.copyBatches.probe(repository, key);
		if (probed + 1 > WARM_UP_PROBES && this.inBaseline == baselineBefore) {
			boolean paused = baselineBefore || (pausedBefore && this.batches == batchesBefore);
			record(baselineBefore, paused, took);
		}
		return probed + 1;
	}

	/**
	 * Record a check of the other sessions of the database.
	 * @param othersBusy whether it found one running a statement or inside a transaction
	 */
	void check(boolean othersBusy) {
		synchronized (this.lock) {
			this.busy[this.busyNext] = othersBusy;
			this.busyNext = (this.busyNext + 1) % this.busy.length;
			this.busyChecks = Math.min(this.busyChecks + 1, this.busy.length);
			this.checks++;
		}
	}

	private void record(boolean baselineProbe, boolean paused, long took) {
		synchronized (this.lock) {
			if (paused) {
				this.paused[this.pausedNext] = took;
				this.pausedNext = (this.pausedNext + 1) % this.paused.length;
				this.pausedCount = Math.min(this.pausedCount + 1, this.paused.length);
			}
			if (this.recentCount == this.recent.length) {
				// keep the newest half of a reading nobody took (no batch ended for a
				// minute)
				System.arraycopy(this.recent, this.recent.length / 2, this.recent, 0, this.recent.length / 2);
				this.recentCount = this.recent.length / 2;
			}
			this.recent[this.recentCount++] = took;
			if (baselineProbe) {
				this.baseline[this.baselineNext] = took;
				this.baselineNext = (this.baselineNext + 1) % this.baseline.length;
				this.baselineCount = Math.min(this.baselineCount + 1, this.baseline.length);
			}
			else {
				if (this.copyingCount == this.copying.length) {
					// keep the newest half of a window nobody read
					System.arraycopy(this.copying, this.copying.length / 2, this.copying, 0, this.copying.length / 2);
					this.copyingCount = this.copying.length / 2;
				}
				this.copying[this.copyingCount++] = took;
			}
		}
	}

}
