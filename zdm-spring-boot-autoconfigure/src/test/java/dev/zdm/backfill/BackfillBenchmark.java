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

import javax.sql.DataSource;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.fleet.InstanceInfo;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
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

	private static final Duration WORKLOAD = Duration.ofSeconds(Integer.getInteger("zdm.benchmark.seconds", 15));

	private static final int WORKLOAD_THREADS = 2;

	private static final int OPERATIONS_PER_SECOND_PER_THREAD = 500;

	private final JdbcTemplate jdbc = postgres.jdbc();

	@Test
	void backfillAgainstOneUpdateAndWorkloadLatency() throws Exception {
		createTable("bench_update");
		createTable("bench_backfill");
		createTable("bench_workload");

		long updateSizeBefore = tableSize("bench_update");
		long updateStart = System.nanoTime();
		this.jdbc.update("UPDATE bench_update SET email_address = lower(email)");
		double updateSeconds = (System.nanoTime() - updateStart) / 1e9;
		long updateGrowth = tableSize("bench_update") - updateSizeBefore;

		long backfillSizeBefore = tableSize("bench_backfill");
		BackfillSettings defaults = BackfillSettings.defaults();
		BackfillSettings unpaced = new BackfillSettings(true, defaults.initialBatchSize(), defaults.minBatchSize(),
				Integer.getInteger("zdm.benchmark.max-batch", defaults.maxBatchSize()), defaults.targetBatchDuration(),
				defaults.pause(), defaults.lockTimeout(), defaults.statementTimeout(), defaults.maxLockWaiters(),
				defaults.maxTransactionAge(), defaults.throttleCheckInterval(), defaults.timeWindows(),
				defaults.timeZone(), Long.getLong("zdm.benchmark.vacuum", defaults.vacuumEveryRows()),
				defaults.verificationPasses())
			.withoutPacing();
		PhaseController controller = start("bench-off", migration("bench-off", "bench_backfill", unpaced));
		BackfillService service = new BackfillService(postgres.dataSource());
		await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
			BackfillProgress progress = service.progress("bench-off");
			return progress != null && progress.state() == BackfillState.VERIFIED;
		});
		controller.stop();
		BackfillProgress unpacedProgress = service.progress("bench-off");
		double backfillSeconds = Duration.between(unpacedProgress.startedAt(), unpacedProgress.copiedAt()).toNanos() / 1e9;
		long backfillGrowth = tableSize("bench_backfill") - backfillSizeBefore;
		double verifySeconds = Duration
			.between(unpacedProgress.verification().startedAt(), unpacedProgress.verification().finishedAt())
			.toNanos() / 1e9;

		if (Boolean.getBoolean("zdm.benchmark.skip-workload")) {
			System.out.printf("rows/s update %.0f backfill %.0f ratio %.2f growth %s %s%n", ROWS / updateSeconds,
					ROWS / backfillSeconds, updateSeconds / backfillSeconds, mb(updateGrowth), mb(backfillGrowth));
			return;
		}
		Latencies baseline = workload("bench_workload", WORKLOAD);
		PhaseController paced = start("bench-paced",
				migration("bench-paced", "bench_workload", BackfillSettings.defaults()));
		Latencies during = workload("bench_workload", WORKLOAD);
		BackfillProgress pacedProgress = service.progress("bench-paced");
		paced.stop();

		double updateRate = ROWS / updateSeconds;
		double backfillRate = ROWS / backfillSeconds;
		System.out.println();
		System.out.println("zdm backfill benchmark, " + ROWS + " rows, PostgreSQL "
				+ this.jdbc.queryForObject("SHOW server_version", String.class));
		System.out.printf("%-44s %14s %14s %8s%n", "", "one UPDATE", "backfill", "ratio");
		System.out.printf("%-44s %14.0f %14.0f %7.2fx%n", "rows/s (backfill with pacing off)", updateRate,
				backfillRate, backfillRate / updateRate);
		System.out.printf("%-44s %14s %14s %7.2fx%n", "table growth (pg_table_size)", mb(updateGrowth),
				mb(backfillGrowth), (double) backfillGrowth / updateGrowth);
		System.out.printf("%-44s %14s %14.2f%n", "verification of every row (s)", "", verifySeconds);
		System.out.println();
		System.out.printf("%-44s %14s %14s %8s%n", "workload (" + WORKLOAD_THREADS + " x "
				+ OPERATIONS_PER_SECOND_PER_THREAD + " ops/s, 1:1 read/write)", "no backfill", "backfill", "ratio");
		System.out.printf("%-44s %14d %14d%n", "operations", baseline.count(), during.count());
		System.out.printf("%-44s %14.2f %14.2f %7.2fx%n", "p50 latency (ms)", baseline.percentile(50),
				during.percentile(50), during.percentile(50) / baseline.percentile(50));
		System.out.printf("%-44s %14.2f %14.2f %7.2fx%n", "p99 latency (ms)", baseline.percentile(99),
				during.percentile(99), during.percentile(99) / baseline.percentile(99));
		System.out.printf("%-44s %14.2f %14.2f %7.2fx%n", "max latency (ms)", baseline.max(), during.max(),
				during.max() / baseline.max());
		System.out.printf("%-44s %14s %14d%n", "rows backfilled during the window (default pacing)", "",
				pacedProgress.rowsDone());
		System.out.printf("%-44s %14s %14s%n", "backfill rate at default pacing (rows/s)", "",
				(pacedProgress.rate() != null) ? String.format("%.0f", pacedProgress.rate()) : "-");
		System.out.println();
	}

	private Latencies workload(String table, Duration duration) throws Exception {
		AtomicBoolean running = new AtomicBoolean(true);
		List<long[]> samples = new ArrayList<>();
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < WORKLOAD_THREADS; i++) {
			long[] latencies = new long[(int) (duration.toSeconds() * OPERATIONS_PER_SECOND_PER_THREAD * 2 + 1000)];
			samples.add(latencies);
			Thread thread = new Thread(() -> runWorkload(table, running, latencies));
			thread.start();
			threads.add(thread);
		}
		Thread.sleep(duration.toMillis());
		running.set(false);
		for (Thread thread : threads) {
			thread.join();
		}
		return Latencies.of(samples);
	}

	private void runWorkload(String table, AtomicBoolean running, long[] latencies) {
		ThreadLocalRandom random = ThreadLocalRandom.current();
		long interval = 1_000_000_000L / OPERATIONS_PER_SECOND_PER_THREAD;
		int count = 0;
		try (Connection connection = postgres.database().newConnection();
				PreparedStatement read = connection.prepareStatement("SELECT * FROM " + table + " WHERE id = ?");
				PreparedStatement write = connection.prepareStatement(
						"UPDATE " + table + " SET email = ?, email_address = lower(?) WHERE id = ?")) {
			long next = System.nanoTime();
			while (running.get() && count < latencies.length - 1) {
				long id = random.nextLong(1, ROWS + 1);
				long start = System.nanoTime();
				if (random.nextBoolean()) {
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
				latencies[count++] = System.nanoTime() - start;
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
		latencies[latencies.length - 1] = count;
	}

	private void createTable(String table) {
		this.jdbc.execute("CREATE TABLE " + table
				+ " (id bigint PRIMARY KEY, email text NOT NULL, email_address text, created_at timestamptz NOT NULL DEFAULT now(), note text)");
		this.jdbc.update("INSERT INTO " + table + " (id, email, note) SELECT i, 'User' || i || '@Example.COM', "
				+ "md5(i::text) FROM generate_series(1, ?) AS i", ROWS);
		this.jdbc.execute("VACUUM ANALYZE " + table);
	}

	private long tableSize(String table) {
		return this.jdbc.queryForObject("SELECT pg_table_size(?::regclass)", Long.class, table);
	}

	private static MigrationDefinition migration(String id, String table, BackfillSettings settings) {
		return MigrationDefinition.builder(id)
			.requestedPhase(Phase.BACKFILL)
			.table(table)
			.up("email_address", "lower(email)")
			.backfill(settings)
			.build();
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = new PhaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "benchmark", "1"), BackfillTests.FLEET,
				List.of(new BackfillParticipant(dataSource, BackfillTests.FLEET.timeout(), List.of())));
		controller.start();
		return controller;
	}

	private static String mb(long bytes) {
		return String.format("%.1f MB", bytes / 1024.0 / 1024.0);
	}

	private record Latencies(long[] sorted) {

		static Latencies of(List<long[]> samples) {
			int total = samples.stream().mapToInt((latencies) -> (int) latencies[latencies.length - 1]).sum();
			long[] all = new long[total];
			int at = 0;
			for (long[] latencies : samples) {
				int count = (int) latencies[latencies.length - 1];
				System.arraycopy(latencies, 0, all, at, count);
				at += count;
			}
			Arrays.sort(all);
			return new Latencies(all);
		}

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
