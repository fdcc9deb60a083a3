package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.Arrays;

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
 * server between two batches). It also counts the transactions the other sessions of the
 * database commit, so that a slower tail counts only while there is a workload to feel
 * it: on an idle database a copy that slows the probe slows no one.
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
	 * Transactions a second the database's other sessions must commit for a workload to
	 * count as present.
	 */
	static final double MIN_WORKLOAD_RATE = 20;

	private static final int BASELINE_CAPACITY = 128;

	private static final long WORKLOAD_CHECK_NANOS = Duration.ofSeconds(1).toNanos();

	/**
	 * Checks of the committed transactions the workload's rate spans: a session reports
	 * its transactions at most once a second, so that a rate over one second reads
	 * nothing or twice as much by turns.
	 */
	private static final int WORKLOAD_CHECKS = 3;

	/**
	 * Reads before the first that counts: the first reads on a new connection, or after
	 * the pool opened one, pay for planning and caching.
	 */
	private static final int WARM_UP_PROBES = 10;

	private final DataSource dataSource;

	private final MigrationDefinition migration;

	private final BackfillBatches batches;

	private final Object lock = new Object();

	private final long[] baseline = new long[BASELINE_CAPACITY];

	private int baselineCount;

	private int baselineNext;

	private long[] copying = new long[256];

	private int copyingCount;

	private double workloadRate = Double.NaN;

	private volatile boolean inBaseline;

	private volatile boolean running;

	private @Nullable Thread thread;

	TailSampler(DataSource dataSource, MigrationDefinition migration, BackfillBatches batches) {
		this.dataSource = dataSource;
		this.migration = migration;
		this.batches = batches;
	}

	/**
	 * Start probing a key of the table.
	 * @param key the key to read
	 */
	void start(String key) {
		this.running = true;
		Thread started = new Thread(() -> sample(key), "zdm-backfill-probe-" + this.migration.id());
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
			long[] sorted = Arrays.copyOf(this.baseline, this.baselineCount);
			Arrays.sort(sorted);
			long slow = sorted[Math.min(sorted.length - 1, (int) (sorted.length * BASELINE_QUANTILE))];
			double threshold = slow * budget + BackfillPacer.PROBE_NOISE_NANOS;
			int over = 0;
			for (int i = 0; i < this.copyingCount; i++) {
				if (this.copying[i] > threshold) {
					over++;
				}
			}
			int probes = this.copyingCount;
			this.copyingCount = 0;
			return new Tail(probes, over, threshold, this.workloadRate);
		}
	}

	/**
	 * Return how many baseline probes are kept.
	 */
	int baselineProbes() {
		synchronized (this.lock) {
			return this.baselineCount;
		}
	}

	private void sample(String key) {
		BackfillRepository repository = new BackfillRepository(this.dataSource);
		long[] checkedAt = new long[WORKLOAD_CHECKS + 1];
		long[] commits = new long[WORKLOAD_CHECKS + 1];
		long[] probes = new long[WORKLOAD_CHECKS + 1];
		int checks = 0;
		long probed = 0;
		try {
			while (this.running) {
				long now = System.nanoTime();
				if (checks == 0 || now - checkedAt[(checks - 1) % checkedAt.length] >= WORKLOAD_CHECK_NANOS) {
					int slot = checks % checkedAt.length;
					checkedAt[slot] = now;
					commits[slot] = repository.committedTransactions();
					probes[slot] = probed;
					checks++;
					if (checks > WORKLOAD_CHECKS) {
						int oldest = checks % checkedAt.length;
						double seconds = (now - checkedAt[oldest]) / 1e9;
						// less this sampler's own reads and checks
						long own = (probed - probes[oldest]) + WORKLOAD_CHECKS;
						double rate = Math.max(0, (commits[slot] - commits[oldest] - own) / seconds);
						synchronized (this.lock) {
							this.workloadRate = rate;
						}
					}
				}
				boolean baselineBefore = this.inBaseline;
				// a connection of the pool for each read, so that the sampler holds none
				// between reads; only the read is timed
				long took = this.batches.probe(repository, key);
				if (++probed > WARM_UP_PROBES && this.inBaseline == baselineBefore) {
					record(baselineBefore, took);
				}
				Thread.sleep(EVERY.toMillis());
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		catch (DataAccessException ex) {
			if (this.running) {
				logger.info("zdm: migration '" + this.migration.id() + "': stopped probing " + this.migration.table()
						+ " while the copy runs: " + BackfillErrors.describe(ex));
			}
		}
	}

	private void record(boolean baselineProbe, long took) {
		synchronized (this.lock) {
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

	/**
	 * The probes taken while the copy ran since the last reading.
	 *
	 * @param probes how many
	 * @param slow how many took longer than the threshold
	 * @param threshold the slowest baseline probes' time with the budget added, in
	 * nanoseconds
	 * @param workloadRate transactions a second the other sessions commit
	 */
	record Tail(int probes, int slow, double threshold, double workloadRate) {

		/**
		 * Whether a workload runs beside the copy and more probes were slow than chance
		 * allows: the share expected of the baseline's slowest {@link #BASELINE_QUANTILE}
		 * plus three standard deviations of that share over this many probes.
		 * @return whether the workload's tail feels the copy
		 */
		boolean over() {
			return this.workloadRate >= MIN_WORKLOAD_RATE && share() > allowed();
		}

		/**
		 * The largest share of slow probes chance explains.
		 * @return the share
		 */
		double allowed() {
			double expected = 1 - BASELINE_QUANTILE;
			return expected + 3 * Math.sqrt(expected * (1 - expected) / this.probes);
		}

		double share() {
			return (double) this.slow / this.probes;
		}

	}

}
