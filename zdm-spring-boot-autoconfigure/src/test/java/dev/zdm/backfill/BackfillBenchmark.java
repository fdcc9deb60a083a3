package dev.zdm.backfill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.fleet.FleetSettings;
import dev.zdm.fleet.InstanceInfo;
import dev.zdm.locks.LockFiguresSampler;
import dev.zdm.locks.LockInspector;
import dev.zdm.metrics.BackfillMetrics;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.phase.HeldBackTracker;
import dev.zdm.phase.MigrationParticipant;
import dev.zdm.phase.MigrationStatus;
import dev.zdm.phase.PhaseController;
import dev.zdm.test.PostgresExtension;

import static org.awaitility.Awaitility.await;

/**
 * Measures the backfill side by side with one {@code UPDATE} of the whole table, and the latency of a concurrent
 * read/write workload with and without a backfill running. Prints figures; asserts nothing about speed. Run with
 * {@code ./mvnw -Pbenchmark -pl zdm-test-support,zdm-spring-boot-autoconfigure test -Dtest=BackfillBenchmark}.
 */
@Tag("benchmark")
class BackfillBenchmark {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = Integer.getInteger("zdm.benchmark.rows", 1_000_000);

	private static final int WORKLOAD_ROWS = Integer.getInteger("zdm.benchmark.workload-rows", 3_000_000);

	private static final Duration WINDOW = Duration.ofSeconds(Integer.getInteger("zdm.benchmark.window-seconds", 2));

	private static final int WINDOWS = Integer.getInteger("zdm.benchmark.windows", 10);

	private static final int ROUNDS = Integer.getInteger("zdm.benchmark.rounds", 3);

	private static final int WORKLOAD_THREADS = 2;

	private static final long READ_FLAG = 1L << 62;

	private static final int OPERATIONS_PER_SECOND_PER_THREAD = 500;

	private final JdbcTemplate jdbc = postgres.jdbc();

	@Test
	void backfillAgainstOneUpdateAndWorkloadLatency() throws Exception {
		BackfillService service = new BackfillService(postgres.dataSource());
		List<Double> updateRates = new ArrayList<>();
		List<Double> backfillRates = new ArrayList<>();
		List<Long> updateGrowths = new ArrayList<>();
		List<Long> backfillGrowths = new ArrayList<>();
		List<Double> verifySeconds = new ArrayList<>();
		for (int round = 1; round <= ROUNDS; round++) {
			// one round is the UPDATE and the backfill one after the other on identical fresh tables, alternating
			// which goes first, so that both see the same machine
			String updateTable = "bench_update_" + round;
			String backfillTable = "bench_backfill_" + round;
			createTable(updateTable);
			createTable(backfillTable);
			if (round % 2 == 1) {
				measureUpdate(updateTable, updateRates, updateGrowths);
				measureBackfill(service, round, backfillTable, backfillRates, backfillGrowths, verifySeconds);
			}
			else {
				measureBackfill(service, round, backfillTable, backfillRates, backfillGrowths, verifySeconds);
				measureUpdate(updateTable, updateRates, updateGrowths);
			}
			this.jdbc.execute("DROP TABLE " + updateTable + ", " + backfillTable);
		}

		createTable("bench_workload", WORKLOAD_ROWS);
		Workload workload = new Workload("bench_workload");
		workload.start();
		PhaseController paced = start("bench-paced",
				migration("bench-paced", "bench_workload", pacedSettings()));
		// baseline and backfill windows alternate, so that both see the same machine; the backfill is paused for
		// the baseline windows
		for (int window = 0; window < WINDOWS; window++) {
			workload.record(-1);
			service.pause("bench-paced");
			await().atMost(Duration.ofSeconds(30))
				.until(() -> service.progress("bench-paced").state() == BackfillState.PAUSED);
			workload.record(0);
			Thread.sleep(WINDOW.toMillis());
			workload.record(-1);
			long before = service.progress("bench-paced").rowsDone();
			service.resume("bench-paced");
			await().atMost(Duration.ofSeconds(30)).until(() -> service.progress("bench-paced").rowsDone() > before);
			workload.record(1);
			Thread.sleep(WINDOW.toMillis());
		}
		workload.record(-1);
		BackfillProgress pacedProgress = service.progress("bench-paced");
		paced.stop();
		workload.stop();
		Latencies baseline = workload.latencies(0);
		Latencies during = workload.latencies(1);
		Latencies baselineReads = workload.latencies(0, (latency) -> (latency & READ_FLAG) != 0);
		Latencies duringReads = workload.latencies(1, (latency) -> (latency & READ_FLAG) != 0);
		Latencies baselineWrites = workload.latencies(0, (latency) -> (latency & READ_FLAG) == 0);
		Latencies duringWrites = workload.latencies(1, (latency) -> (latency & READ_FLAG) == 0);

		if (ROUNDS == 0) {
			updateRates.add(1.0);
			backfillRates.add(1.0);
			updateGrowths.add(1L);
			backfillGrowths.add(1L);
		}
		double updateRate = median(updateRates);
		double backfillRate = median(backfillRates);
		double updateGrowth = median(updateGrowths.stream().map(Long::doubleValue).toList());
		double backfillGrowth = median(backfillGrowths.stream().map(Long::doubleValue).toList());
		System.out.println();
		System.out.println("zdm backfill benchmark, " + ROWS + " rows, PostgreSQL "
				+ this.jdbc.queryForObject("SHOW server_version", String.class) + ", median of " + ROUNDS + " rounds");
		System.out.printf("%-52s %14s %14s %8s%n", "", "one UPDATE", "backfill", "ratio");
		System.out.printf("%-52s %14.0f %14.0f %7.2fx%n", "rows/s (backfill with pacing off)", updateRate,
				backfillRate, backfillRate / updateRate);
		System.out.printf("%-52s %14s %14s%n", "  each round", format(updateRates, "%.0f"),
				format(backfillRates, "%.0f"));
		System.out.printf("%-52s %14s %14s %7.2fx%n", "table growth (pg_table_size)", mb(updateGrowth),
				mb(backfillGrowth), backfillGrowth / updateGrowth);
		System.out.printf("%-52s %14s %14s%n", "verification of every row (s)", "", format(verifySeconds, "%.2f"));
		System.out.println();
		System.out.printf("%-52s %14s %14s %8s%n", "workload on " + WORKLOAD_ROWS + " rows (" + WORKLOAD_THREADS
				+ " x " + OPERATIONS_PER_SECOND_PER_THREAD + " ops/s, 1:1 read/write)", "no backfill", "backfill",
				"ratio");
		System.out.printf("%-52s %14s %14s%n", "  in alternating windows", WINDOWS + " x " + WINDOW.toSeconds() + " s",
				WINDOWS + " x " + WINDOW.toSeconds() + " s");
		System.out.printf("%-52s %14d %14d%n", "operations", baseline.count(), during.count());
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "p50 latency (ms)", baseline.percentile(50),
				during.percentile(50), during.percentile(50) / baseline.percentile(50));
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "p99 latency (ms)", baseline.percentile(99),
				during.percentile(99), during.percentile(99) / baseline.percentile(99));
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "max latency (ms)", baseline.max(), during.max(),
				during.max() / baseline.max());
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "  reads: p99 latency (ms)", baselineReads.percentile(99),
				duringReads.percentile(99), duringReads.percentile(99) / baselineReads.percentile(99));
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "  writes: p99 latency (ms)", baselineWrites.percentile(99),
				duringWrites.percentile(99), duringWrites.percentile(99) / baselineWrites.percentile(99));
		System.out.printf("%-52s %14s %14d%n", "rows backfilled in the windows (default pacing)", "",
				pacedProgress.rowsDone());
		System.out.printf("%-52s %14s %14s%n", "backfill still copying after the last window", "",
				(pacedProgress.copiedAt() == null) ? "yes" : "no");
		System.out.printf("%-52s %14s %14s%n", "backfill rate at default pacing (rows/s)", "",
				(pacedProgress.rate() != null) ? String.format("%.0f", pacedProgress.rate()) : "-");
		System.out.println();
	}

	/**
	 * The cost of zdm's meters and of the lock and progress samplers, on the same workload while a backfill runs at
	 * default pacing: windows with them off alternate with windows with them on (every backfill event recorded, both
	 * samplers querying at each heartbeat, once a second instead of the default five, and every meter read once a
	 * second as a scrape would).
	 */
	@Test
	void meterAndLockSamplerCostOnWorkloadLatency() throws Exception {
		createTable("bench_observed", WORKLOAD_ROWS);
		BackfillService service = new BackfillService(postgres.dataSource());
		Workload workload = new Workload("bench_observed");
		workload.start();
		AtomicBoolean observing = new AtomicBoolean();
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		BackfillMetrics metrics = new BackfillMetrics(registry);
		AtomicLong listenerNanos = new AtomicLong();
		AtomicLong listenerCalls = new AtomicLong();
		AtomicLong samplerNanos = new AtomicLong();
		AtomicLong samplerCalls = new AtomicLong();
		DataSource dataSource = postgres.newDataSource("bench-observed", 4);
		FleetSettings fleet = new FleetSettings(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(5),
				Duration.ofHours(1));
		BackfillParticipant backfill = new BackfillParticipant(dataSource, fleet.timeout(), List.of());
		backfill.setListener(new BackfillListener() {

			@Override
			public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
				if (!observing.get()) {
					return Batch.NONE;
				}
				long start = cpuNanos();
				Batch batch = metrics.batchStarting(migration, kind, batchSize);
				listenerNanos.addAndGet(cpuNanos() - start);
				return new Batch() {

					@Override
					public void copied(long rows, long updated) {
						long start = cpuNanos();
						batch.copied(rows, updated);
						listenerNanos.addAndGet(cpuNanos() - start);
						listenerCalls.incrementAndGet();
					}

					@Override
					public void verified(long rows, long disagreeing, long repaired) {
						long start = cpuNanos();
						batch.verified(rows, disagreeing, repaired);
						listenerNanos.addAndGet(cpuNanos() - start);
						listenerCalls.incrementAndGet();
					}

					@Override
					public void failed(Throwable failure, boolean retried) {
						batch.failed(failure, retried);
					}

				};
			}

			@Override
			public void holdsBack(MigrationDefinition migration, ThrottleReason reason) {
				if (observing.get()) {
					metrics.holdsBack(migration, reason);
				}
			}

			@Override
			public void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
				if (observing.get()) {
					metrics.heldBack(migration, reason, duration);
				}
			}

		});
		LockFiguresSampler locks = new LockFiguresSampler(new LockInspector(dataSource));
		BackfillProgressSampler progress = new BackfillProgressSampler(new BackfillService(dataSource));
		HeldBackTracker heldBack = new HeldBackTracker();
		MigrationParticipant samplers = new MigrationParticipant() {

			@Override
			public void afterHeartbeat(MigrationStatus status) {
				if (observing.get()) {
					long start = System.nanoTime();
					locks.afterHeartbeat(status);
					progress.afterHeartbeat(status);
					heldBack.afterHeartbeat(status);
					samplerNanos.addAndGet(System.nanoTime() - start);
					samplerCalls.incrementAndGet();
				}
			}

		};
		PhaseController controller = new PhaseController(dataSource,
				List.of(migration("bench-observed", "bench_observed", pacedSettings())),
				InstanceInfo.ofThisProcess("bench-observed", "benchmark", "1"), fleet, List.of(backfill, samplers));
		controller.start();
		new ZdmMetrics(controller, locks, progress, null, heldBack).bindTo(registry);
		AtomicBoolean scraping = new AtomicBoolean(true);
		Thread scraper = new Thread(() -> {
			while (scraping.get()) {
				if (observing.get()) {
					for (Meter meter : registry.getMeters()) {
						for (Measurement measurement : meter.measure()) {
							measurement.getValue();
						}
					}
				}
				try {
					Thread.sleep(1000);
				}
				catch (InterruptedException ex) {
					return;
				}
			}
		}, "bench-scraper");
		scraper.start();
		await().atMost(Duration.ofSeconds(60)).until(() -> {
			BackfillProgress started = service.progress("bench-observed");
			return started != null && started.rowsDone() > 0;
		});
		for (int window = 0; window < WINDOWS; window++) {
			workload.record(-1);
			observing.set(false);
			Thread.sleep(200);
			workload.record(0);
			Thread.sleep(WINDOW.toMillis());
			workload.record(-1);
			observing.set(true);
			Thread.sleep(200);
			workload.record(1);
			Thread.sleep(WINDOW.toMillis());
		}
		workload.record(-1);
		BackfillProgress done = service.progress("bench-observed");
		scraping.set(false);
		scraper.interrupt();
		controller.stop();
		workload.stop();
		Latencies off = workload.latencies(0);
		Latencies on = workload.latencies(1);
		System.out.println();
		System.out.println("zdm meters and lock sampler cost, workload on " + WORKLOAD_ROWS + " rows (" + WORKLOAD_THREADS
				+ " x " + OPERATIONS_PER_SECOND_PER_THREAD + " ops/s, 1:1 read/write) while a backfill runs at default "
				+ "pacing, PostgreSQL " + this.jdbc.queryForObject("SHOW server_version", String.class));
		System.out.printf("%-52s %14s %14s %8s%n", "", "meters off", "meters on", "ratio");
		System.out.printf("%-52s %14s %14s%n", "  in alternating windows", WINDOWS + " x " + WINDOW.toSeconds() + " s",
				WINDOWS + " x " + WINDOW.toSeconds() + " s");
		System.out.printf("%-52s %14d %14d%n", "operations", off.count(), on.count());
		System.out.printf("%-52s %14.3f %14.3f %7.3fx%n", "p50 latency (ms)", off.percentile(50), on.percentile(50),
				on.percentile(50) / off.percentile(50));
		System.out.printf("%-52s %14.3f %14.3f %7.3fx%n", "p99 latency (ms)", off.percentile(99), on.percentile(99),
				on.percentile(99) / off.percentile(99));
		System.out.printf("%-52s %14.3f %14.3f %7.3fx%n", "max latency (ms)", off.max(), on.max(),
				on.max() / off.max());
		System.out.printf("%-52s %14s %14.1f%n", "meters: CPU microseconds per batch recorded", "",
				listenerNanos.get() / 1e3 / Math.max(1, listenerCalls.get()));
		System.out.printf("%-52s %14s %14.2f%n", "samplers: wall milliseconds per heartbeat (5 queries)", "",
				samplerNanos.get() / 1e6 / Math.max(1, samplerCalls.get()));
		System.out.printf("%-52s %14s %14d%n", "rows backfilled in the windows", "", done.rowsDone());
		System.out.printf("%-52s %14s %14.0f%n", "batches recorded by zdm.backfill.batch.duration", "",
				(double) registry.get("zdm.backfill.batch.duration").tag("kind", "copy").timer().count());
		System.out.println();
	}

	private static long cpuNanos() {
		return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
	}

	private void measureUpdate(String table, List<Double> rates, List<Long> growths) {
		long sizeBefore = tableSize(table);
		long start = System.nanoTime();
		this.jdbc.update("UPDATE " + table + " SET email_address = lower(email)");
		rates.add(ROWS / ((System.nanoTime() - start) / 1e9));
		growths.add(tableSize(table) - sizeBefore);
	}

	private void measureBackfill(BackfillService service, int round, String table, List<Double> rates,
			List<Long> growths, List<Double> verifySeconds) {
		String id = "bench-off-" + round;
		long sizeBefore = tableSize(table);
		PhaseController controller = start(id, migration(id, table, BackfillSettings.defaults().withoutPacing()));
		await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
			BackfillProgress progress = service.progress(id);
			return progress != null && progress.state() == BackfillState.VERIFIED;
		});
		controller.stop();
		BackfillProgress progress = service.progress(id);
		rates.add(ROWS / (Duration.between(progress.startedAt(), progress.copiedAt()).toNanos() / 1e9));
		growths.add(tableSize(table) - sizeBefore);
		verifySeconds.add(Duration.between(progress.verification().startedAt(), progress.verification().finishedAt())
			.toNanos() / 1e9);
	}

	private static BackfillSettings pacedSettings() {
		BackfillSettings defaults = BackfillSettings.defaults();
		return new BackfillSettings(true, defaults.initialBatchSize(), defaults.minBatchSize(), defaults.maxBatchSize(),
				Duration.ofMillis(Long.getLong("zdm.benchmark.paced-target", defaults.targetBatchDuration().toMillis())),
				Duration.ofMillis(Long.getLong("zdm.benchmark.paced-pause", defaults.pause().toMillis())),
				defaults.lockTimeout(), defaults.statementTimeout(),
				Boolean.getBoolean("zdm.benchmark.no-load-checks") ? Integer.MAX_VALUE : defaults.maxLockWaiters(),
				Boolean.getBoolean("zdm.benchmark.no-load-checks") ? Duration.ZERO : defaults.maxTransactionAge(),
				defaults.throttleCheckInterval(), defaults.timeWindows(),
				defaults.timeZone(), Long.getLong("zdm.benchmark.paced-vacuum", defaults.vacuumEveryRows()), defaults.verificationPasses());
	}

	private static double median(List<Double> values) {
		List<Double> sorted = values.stream().sorted().toList();
		int middle = sorted.size() / 2;
		return (sorted.size() % 2 == 1) ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
	}

	private static String format(List<Double> values, String format) {
		return String.join(" ", values.stream().map((value) -> String.format(format, value)).toList());
	}

	/**
	 * A steady read/write workload whose latencies are recorded into buckets.
	 */
	private final class Workload {

		private final String table;

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final AtomicInteger bucket = new AtomicInteger(-1);

		private final List<Thread> threads = new ArrayList<>();

		private final List<List<long[]>> samples = List.of(new ArrayList<>(), new ArrayList<>());

		private final List<int[]> counts = new ArrayList<>();

		Workload(String table) {
			this.table = table;
		}

		void start() {
			int capacity = (int) (WINDOWS * WINDOW.toSeconds() * OPERATIONS_PER_SECOND_PER_THREAD * 2 + 1000);
			for (int i = 0; i < WORKLOAD_THREADS; i++) {
				long[] baseline = new long[capacity];
				long[] backfill = new long[capacity];
				int[] count = new int[2];
				this.samples.get(0).add(baseline);
				this.samples.get(1).add(backfill);
				this.counts.add(count);
				Thread thread = new Thread(() -> run(new long[][] { baseline, backfill }, count));
				thread.start();
				this.threads.add(thread);
			}
		}

		void record(int bucket) {
			this.bucket.set(bucket);
		}

		void stop() throws InterruptedException {
			this.running.set(false);
			for (Thread thread : this.threads) {
				thread.join();
			}
		}

		Latencies latencies(int bucket) {
			return latencies(bucket, (latency) -> true);
		}

		Latencies latencies(int bucket, java.util.function.LongPredicate filter) {
			int total = this.counts.stream().mapToInt((count) -> count[bucket]).sum();
			long[] all = new long[total];
			int at = 0;
			for (int i = 0; i < this.counts.size(); i++) {
				int count = this.counts.get(i)[bucket];
				System.arraycopy(this.samples.get(bucket).get(i), 0, all, at, count);
				at += count;
			}
			return new Latencies(Arrays.stream(all).filter(filter).map((latency) -> latency & ~READ_FLAG).sorted().toArray());
		}

		private void run(long[][] latencies, int[] counts) {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			long interval = 1_000_000_000L / OPERATIONS_PER_SECOND_PER_THREAD;
			try (Connection connection = postgres.database().newConnection();
					PreparedStatement read = connection.prepareStatement("SELECT * FROM " + this.table + " WHERE id = ?");
					PreparedStatement write = connection.prepareStatement(
							"UPDATE " + this.table + " SET email = ?, email_address = lower(?) WHERE id = ?")) {
				long next = System.nanoTime();
				while (this.running.get()) {
					long id = random.nextLong(1, WORKLOAD_ROWS + 1);
					int bucket = this.bucket.get();
					long start = System.nanoTime();
					boolean reading = random.nextBoolean();
					if (reading) {
						read.setLong(1, id);
						try (ResultSet rs = read.executeQuery()) {
							rs.next();
						}
					}
					else {
						String email = "User" + id + "-" + random.nextInt() + "@Example.COM";
						write.setString(1, email);
						write.setString(2, email);
						write.setLong(3, id);
						write.executeUpdate();
					}
					long latency = (System.nanoTime() - start) | (reading ? READ_FLAG : 0);
					if (bucket >= 0 && bucket == this.bucket.get() && counts[bucket] < latencies[bucket].length) {
						latencies[bucket][counts[bucket]++] = latency;
					}
					next += interval;
					long sleep = next - System.nanoTime();
					if (sleep > 0) {
						Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
					}
				}
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		}

	}

	private void createTable(String table) {
		createTable(table, ROWS);
	}

	private void createTable(String table, int rows) {
		this.jdbc.execute("CREATE TABLE " + table
				+ " (id bigint PRIMARY KEY, email text NOT NULL, email_address text, created_at timestamptz NOT NULL DEFAULT now(), note text)");
		this.jdbc.update("INSERT INTO " + table + " (id, email, note) SELECT i, 'User' || i || '@Example.COM', "
				+ "md5(i::text) FROM generate_series(1, ?) AS i", rows);
		this.jdbc.execute("VACUUM ANALYZE " + table);
	}

	private long tableSize(String table) {
		return this.jdbc.queryForObject("SELECT pg_table_size(?::regclass)", Long.class, table);
	}

	private static MigrationDefinition migration(String id, String table, BackfillSettings settings) {
		return BackfillTests.migration(id, table, Phase.BACKFILL, settings);
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = new PhaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "benchmark", "1"), BackfillTests.FLEET,
				List.of(new BackfillParticipant(dataSource, BackfillTests.FLEET.timeout(), List.of())));
		controller.start();
		return controller;
	}

	private static String mb(double bytes) {
		return String.format("%.1f MB", bytes / 1024.0 / 1024.0);
	}

	private record Latencies(long[] sorted) {

		int count() {
			return this.sorted.length;
		}

		double percentile(int percentile) {
			int index = (int) Math.ceil(percentile / 100.0 * this.sorted.length) - 1;
			return this.sorted[Math.max(0, index)] / 1e6;
		}

		double max() {
			return this.sorted[this.sorted.length - 1] / 1e6;
		}

	}

}
