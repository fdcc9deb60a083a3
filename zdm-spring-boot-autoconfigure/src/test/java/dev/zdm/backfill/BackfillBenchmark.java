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

	private static final int ROUNDS = Integer.getInteger("zdm.benchmark.rounds", 3);

	private static final int WORKLOAD_THREADS = 2;

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

		createTable("bench_workload");
		Latencies baseline = workload("bench_workload", WORKLOAD);
		PhaseController paced = start("bench-paced",
				migration("bench-paced", "bench_workload", BackfillSettings.defaults()));
		Latencies during = workload("bench_workload", WORKLOAD);
		BackfillProgress pacedProgress = service.progress("bench-paced");
		paced.stop();

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
		System.out.printf("%-52s %14s %14s %8s%n", "workload (" + WORKLOAD_THREADS + " x "
				+ OPERATIONS_PER_SECOND_PER_THREAD + " ops/s, 1:1 read/write, " + WORKLOAD.toSeconds() + " s)",
				"no backfill", "backfill", "ratio");
		System.out.printf("%-52s %14d %14d%n", "operations", baseline.count(), during.count());
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "p50 latency (ms)", baseline.percentile(50),
				during.percentile(50), during.percentile(50) / baseline.percentile(50));
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "p99 latency (ms)", baseline.percentile(99),
				during.percentile(99), during.percentile(99) / baseline.percentile(99));
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "max latency (ms)", baseline.max(), during.max(),
				during.max() / baseline.max());
		System.out.printf("%-52s %14s %14d%n", "rows backfilled in the window (default pacing)", "",
				pacedProgress.rowsDone());
		System.out.printf("%-52s %14s %14s%n", "backfill rate at default pacing (rows/s)", "",
				(pacedProgress.rate() != null) ? String.format("%.0f", pacedProgress.rate()) : "-");
		System.out.println();
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

	private static double median(List<Double> values) {
		List<Double> sorted = values.stream().sorted().toList();
		int middle = sorted.size() / 2;
		return (sorted.size() % 2 == 1) ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
	}

	private static String format(List<Double> values, String format) {
		return String.join(" ", values.stream().map((value) -> String.format(format, value)).toList());
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

	private static String mb(double bytes) {
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
