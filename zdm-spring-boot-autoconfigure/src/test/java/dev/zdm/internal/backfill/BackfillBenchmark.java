package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.namedparam.MapSqlParameterSource;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.util.Assert;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.fleet.FleetSettings;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.metrics.BackfillMetrics;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.awaitility.Awaitility.await;

/**
 * Measures the backfill side by side with one {@code UPDATE} of the whole table, and the
 * latency of a concurrent read/write workload with and without a backfill running. Prints
 * figures; asserts nothing about speed. Run with
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

	/**
	 * How long the copy at default settings runs under the workload before its windows: a
	 * copy of a large table runs for minutes to hours, and the pacing's readings of the
	 * workload's p99 come every 5 to 15 seconds under it, so the windows read the pace it
	 * settles at, not its first steps.
	 */
	private static final Duration WARM_UP = Duration
		.ofSeconds(Integer.getInteger("zdm.benchmark.warm-up-seconds", 120));

	/**
	 * How long a copy at a fixed setting runs under the workload before its windows: its
	 * pace is the same from the first batch, so only long enough for the table's pages
	 * and the workload to settle.
	 */
	private static final Duration FIXED_WARM_UP = Duration
		.ofSeconds(Integer.getInteger("zdm.benchmark.fixed-warm-up-seconds", 30));

	/**
	 * How often a copy on an idle database is polled until it is done.
	 */
	private static final Duration IDLE_POLL = Duration.ofMillis(500);

	private static final int ROUNDS = Integer.getInteger("zdm.benchmark.rounds", 3);

	private static final int SCALE_ROWS = Integer.getInteger("zdm.benchmark.scale-rows", 10_000_000);

	/**
	 * Whether to measure only the scale figures (the other sections print what little
	 * they measured).
	 */
	private static final boolean SCALE_ONLY = Boolean.getBoolean("zdm.benchmark.scale-only");

	private static final int WORKLOAD_THREADS = 2;

	private static final long READ_FLAG = 1L << 62;

	private static final int OPERATIONS_PER_SECOND_PER_THREAD = 500;

	private final JdbcTemplate jdbc = postgres.jdbc();

	/**
	 * The pool the measured runners use, its connections warmed (see {@link #warmPool}),
	 * as an application's pool is; {@code null} until a test warms it.
	 */
	private @Nullable DataSource runners;

	/**
	 * One warmed connection for the statements the runners are measured against (one
	 * {@code UPDATE}, one {@code INSERT ... SELECT}); {@code null} until a test warms it.
	 */
	private @Nullable JdbcTemplate statements;

	@Test
	void backfillAgainstOneUpdateAndWorkloadLatency() throws Exception {
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		warmPools();
		List<Double> updateRates = new ArrayList<>();
		List<Double> backfillRates = new ArrayList<>();
		List<Long> updateGrowths = new ArrayList<>();
		List<Long> backfillGrowths = new ArrayList<>();
		List<Double> verifySeconds = new ArrayList<>();
		for (int round = 1; round <= ROUNDS; round++) {
			// one round is the UPDATE and the backfill one after the other on identical
			// fresh tables, alternating
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
		PhaseController paced = start("bench-paced", migration("bench-paced", "bench_workload", pacedSettings()));
		// baseline and backfill windows alternate, so that both see the same machine; the
		// backfill is paused for
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
		System.out.printf("%-52s %14.0f %14.0f %7.2fx%n", "rows/s (backfill with pacing off)", updateRate, backfillRate,
				backfillRate / updateRate);
		System.out.printf("%-52s %14s %14s%n", "  each round", format(updateRates, "%.0f"),
				format(backfillRates, "%.0f"));
		System.out.printf("%-52s %14s %14s %7.2fx%n", "table growth (pg_table_size)", mb(updateGrowth),
				mb(backfillGrowth), backfillGrowth / updateGrowth);
		System.out.printf("%-52s %14s %14s%n", "verification of every row (s)", "", format(verifySeconds, "%.2f"));
		System.out.println();
		System.out.printf(
				"%-52s %14s %14s %8s%n", "workload on " + WORKLOAD_ROWS + " rows (" + WORKLOAD_THREADS + " x "
						+ OPERATIONS_PER_SECOND_PER_THREAD + " ops/s, 1:1 read/write)",
				"no backfill", "backfill", "ratio");
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

	@Test
	void verificationUnderLoadCrossTableCopyAndScale() throws Exception {
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		String version = this.jdbc.queryForObject("SHOW server_version", String.class);
		warmPools();
		if (SCALE_ONLY) {
			printScale(measureScale(service), version);
			return;
		}

		// the cross-table copy against one INSERT ... SELECT of the whole table, on
		// identical fresh targets
		List<Double> insertRates = new ArrayList<>();
		List<Double> crossRates = new ArrayList<>();
		List<Double> crossVerifyRates = new ArrayList<>();
		for (int round = 1; round <= ROUNDS; round++) {
			String source = "bench_cross_" + round;
			createTable(source);
			createTarget(source + "_insert");
			createTarget(source + "_target");
			if (round % 2 == 1) {
				insertRates.add(insertSelect(source, source + "_insert", ROWS));
				crossRates
					.add(crossTableBackfill(service, "bench-cross-" + round, source, ROWS, crossVerifyRates, null));
			}
			else {
				crossRates
					.add(crossTableBackfill(service, "bench-cross-" + round, source, ROWS, crossVerifyRates, null));
				insertRates.add(insertSelect(source, source + "_insert", ROWS));
			}
			this.jdbc.execute("DROP TABLE " + source + ", " + source + "_insert, " + source + "_target");
		}

		// copy at default pacing, with the workload idle and with it running, in
		// alternating windows
		createTable("bench_live", WORKLOAD_ROWS);
		Workload workload = new Workload("bench_live");
		workload.start();
		PhaseController paced = start("bench-live", migration("bench-live", "bench_live", pacedSettings()));
		List<Double> copyIdle = new ArrayList<>();
		List<Double> copyLoaded = new ArrayList<>();
		for (int window = 0; window < WINDOWS / 2; window++) {
			workload.record(-1);
			workload.idle(true);
			copyIdle.add(copyWindow(service, "bench-live"));
			workload.idle(false);
			workload.record(1);
			copyLoaded.add(copyWindow(service, "bench-live"));
		}
		workload.record(-1);
		paced.stop();
		workload.stop();
		this.jdbc.execute("DROP TABLE bench_live");

		// verification at default settings, with the workload idle and with it running,
		// and the workload's
		// latency without and during a verification
		createTable("bench_verify", WORKLOAD_ROWS);
		Workload verifyWorkload = new Workload("bench_verify");
		verifyWorkload.start();
		verifyWorkload.idle(true);
		BackfillSettings defaults = BackfillSettings.defaults();
		BackfillSettings verifying = pacedSettings().withVerification(
				Integer.getInteger("zdm.benchmark.verification-batch", defaults.verificationBatchSize()),
				Duration.ofMillis(
						Long.getLong("zdm.benchmark.verification-pause", defaults.verificationPause().toMillis())));
		BackfillSettings fastCopy = BackfillSettings.defaults()
			.withoutPacing()
			.withVerification(verifying.verificationBatchSize(), verifying.verificationPause());
		PhaseController verifier = start("bench-verify", migration("bench-verify", "bench_verify", fastCopy));
		await().atMost(Duration.ofMinutes(20))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> service.progress("bench-verify") != null
					&& service.progress("bench-verify").state() == BackfillState.VERIFIED);
		List<Double> verifyIdle = new ArrayList<>();
		List<Double> verifyLoaded = new ArrayList<>();
		for (int window = 0; window < WINDOWS / 2; window++) {
			verifyWorkload.idle(true);
			verifyIdle.add(verification(service, "bench-verify"));
			verifyWorkload.idle(false);
			verifyWorkload.record(0);
			Thread.sleep(WINDOW.toMillis());
			verifyWorkload.record(2);
			verifyLoaded.add(verification(service, "bench-verify"));
			verifyWorkload.record(-1);
		}
		verifier.stop();
		verifyWorkload.stop();
		this.jdbc.execute("DROP TABLE bench_verify");
		Latencies baseline = verifyWorkload.latencies(0);
		Latencies during = verifyWorkload.latencies(2);

		double[][] scale = measureScale(service);

		System.out.println();
		System.out.println("zdm backfill benchmark (verification, cross-table, scale), PostgreSQL " + version);
		System.out.printf("%-52s %14s %14s %8s%n", ROWS + " rows, median of " + ROUNDS + " rounds", "INSERT..SELECT",
				"cross-table", "ratio");
		System.out.printf("%-52s %14.0f %14.0f %7.2fx%n", "rows/s (cross-table copy with pacing off)",
				median(insertRates), median(crossRates), median(crossRates) / median(insertRates));
		System.out.printf("%-52s %14s %14s%n", "  each round", format(insertRates, "%.0f"), format(crossRates, "%.0f"));
		System.out.printf("%-52s %14s %14.0f%n", "cross-table verification rows/s", "", median(crossVerifyRates));
		System.out.println();
		System.out.printf("%-52s %14s %14s %8s%n", "on " + WORKLOAD_ROWS + " rows, workload " + WORKLOAD_THREADS + " x "
				+ OPERATIONS_PER_SECOND_PER_THREAD + " ops/s", "no workload", "workload", "ratio");
		System.out.printf("%-52s %14.0f %14.0f %7.2fx%n",
				"copy rows/s (default pacing, " + (WINDOWS / 2) + " x " + WINDOW.toSeconds() + " s each)",
				median(copyIdle), median(copyLoaded), median(copyLoaded) / median(copyIdle));
		System.out.printf("%-52s %14.0f %14.0f %7.2fx%n",
				"verification rows/s (default settings, median of " + (WINDOWS / 2) + ")", median(verifyIdle),
				median(verifyLoaded), median(verifyLoaded) / median(verifyIdle));
		System.out.printf("%-52s %14s %14s%n", "  each verification", format(verifyIdle, "%.0f"),
				format(verifyLoaded, "%.0f"));
		System.out.printf("%-52s %14s %14s %8s%n", "workload latency", "no verif.", "verifying", "ratio");
		System.out.printf("%-52s %14d %14d%n", "  operations", baseline.count(), during.count());
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "  p50 latency (ms)", baseline.percentile(50),
				during.percentile(50), during.percentile(50) / baseline.percentile(50));
		System.out.printf("%-52s %14.2f %14.2f %7.2fx%n", "  p99 latency (ms)", baseline.percentile(99),
				during.percentile(99), during.percentile(99) / baseline.percentile(99));
		System.out.println();
		printScale(scale, version);
	}

	/**
	 * Where the cross-table copy's time goes, and the copy before and after its statement
	 * changed, side by side: each variant copies the whole source table into a fresh
	 * target, in batches of the pacing-off size (one transaction each) unless it is the
	 * single statement; the order of the variants rotates from round to round, and each
	 * round has a fresh source table. The "batch loop" variants run what a runner's batch
	 * runs (timeouts, range query, copy, checkpoint, commit) with the old and the new
	 * copy statement; "zdm runner" is the real runner with this code.
	 * {@code -Dzdm.benchmark.profile-rows=N} picks the size (default
	 * {@code zdm.benchmark.rows}).
	 */
	@Test
	void crossTableCopyProfile() throws Exception {
		int rows = Integer.getInteger("zdm.benchmark.profile-rows", ROWS);
		int batch = BackfillSettings.defaults().withoutPacing().maxBatchSize();
		new ZdmSchema(postgres.dataSource()).migrate();
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		String version = this.jdbc.queryForObject("SHOW server_version", String.class);
		warmPools();
		JdbcTemplate statements = warmStatements();
		String columns = "(id, email_address, note)";
		String values = "id, lower(email), note";
		LinkedHashMap<String, CopyVariant> variants = new LinkedHashMap<>();
		variants.put("one INSERT ... SELECT (whole table)", (source, target, round) -> statements
			.update("INSERT INTO " + target + " " + columns + " SELECT " + values + " FROM " + source));
		variants.put("  the same on a new connection", (source, target, round) -> {
			try (Connection connection = postgres.database().newConnection();
					Statement statement = connection.createStatement()) {
				statement
					.executeUpdate("INSERT INTO " + target + " " + columns + " SELECT " + values + " FROM " + source);
			}
		});
		variants.put("batches: INSERT ... SELECT", (source, target, round) -> batches(rows, batch, "INSERT INTO "
				+ target + " " + columns + " SELECT " + values + " FROM " + source + " WHERE id > :lo AND id <= :hi"));
		variants.put("batches: + FOR SHARE, in key order",
				(source, target, round) -> batches(rows, batch, "INSERT INTO " + target + " " + columns + " SELECT "
						+ values + " FROM " + source + " WHERE id > :lo AND id <= :hi ORDER BY id FOR SHARE"));
		variants.put("batches: + FOR SHARE, no ORDER BY",
				(source, target, round) -> batches(rows, batch, "INSERT INTO " + target + " " + columns + " SELECT "
						+ values + " FROM " + source + " WHERE id > :lo AND id <= :hi FOR SHARE"));
		variants.put("batches: ON CONFLICT DO UPDATE, no lock",
				(source, target, round) -> batches(rows, batch,
						"INSERT INTO " + target + " AS t " + columns + " SELECT " + values + " FROM " + source
								+ " WHERE id > :lo AND id <= :hi ON CONFLICT (id) DO UPDATE SET email_address = "
								+ "EXCLUDED.email_address, note = EXCLUDED.note WHERE ROW(t.email_address, t.note) "
								+ "IS DISTINCT FROM ROW(EXCLUDED.email_address, EXCLUDED.note)"));
		variants
			.put("batches: ON CONFLICT DO NOTHING + FOR SHARE",
					(source, target, round) -> batches(rows, batch, "INSERT INTO " + target + " " + columns + " SELECT "
							+ values + " FROM " + source
							+ " WHERE id > :lo AND id <= :hi ORDER BY id FOR SHARE ON CONFLICT (id) DO NOTHING"));
		variants.put("batches: old copy statement (CTE, FOR SHARE, upsert)",
				(source, target, round) -> batches(rows, batch, afterFirst(profiled(source, target), true)));
		variants.put("batches: new copy statement (FOR SHARE, NOT EXISTS)",
				(source, target, round) -> batches(rows, batch, afterFirst(profiled(source, target), false)));
		variants.put("batch loop, old copy statement",
				(source, target, round) -> batchLoop(source, target, rows, batch, "profile-old-" + round, false));
		variants.put("batch loop, new copy statement",
				(source, target, round) -> batchLoop(source, target, rows, batch, "profile-new-" + round, true));
		variants.put("zdm runner (pacing off)", (source, target, round) -> {
			crossTableBackfill(service, "bench-profile-" + round, source, rows, new ArrayList<>(), null);
		});
		variants.put("  the same on a new pool", (source, target, round) -> {
			crossTableBackfill(service, "bench-profile-new-" + round, source, rows, new ArrayList<>(), null,
					postgres.newDataSource("bench-profile-new-" + round, 4));
		});
		String only = System.getProperty("zdm.benchmark.profile-variants");
		if (only != null) {
			// the first variant is the baseline the others are compared with
			String baselineName = variants.keySet().iterator().next();
			List<String> wanted = List.of(only.split(","));
			variants.keySet()
				.removeIf((name) -> !name.equals(baselineName) && wanted.stream().noneMatch(name::contains));
		}
		List<String> names = new ArrayList<>(variants.keySet());
		Map<String, List<Double>> rates = new HashMap<>();
		List<String> plans = new ArrayList<>();
		for (int round = 1; round <= ROUNDS; round++) {
			String source = "bench_profile_" + round;
			createTable(source, rows);
			for (int i = 0; i < names.size(); i++) {
				String name = names.get((i + (round - 1) * 4) % names.size());
				String target = source + "_target";
				createTarget(target);
				long start = System.nanoTime();
				variants.get(name).copy(source, target, round);
				double rate = rows / ((System.nanoTime() - start) / 1e9);
				if (name.startsWith("zdm runner") || name.contains("new pool")) {
					BackfillProgress progress = service
						.progress((name.contains("new pool") ? "bench-profile-new-" : "bench-profile-") + round);
					rate = rows / seconds(progress.startedAt(), progress.copiedAt());
				}
				Long copied = this.jdbc.queryForObject("SELECT count(*) FROM " + target, Long.class);
				if (copied == null || copied != rows) {
					throw new IllegalStateException(name + " copied " + copied + " rows of " + rows);
				}
				rates.computeIfAbsent(name, (key) -> new ArrayList<>()).add(rate);
				if (round == 1 && name.equals(names.get(0))) {
					plans.add(plan(source, target, rows, batch, "full target"));
					this.jdbc.execute("TRUNCATE " + target);
					plans.add(plan(source, target, rows, batch, "empty target"));
				}
				this.jdbc.execute("DROP TABLE " + target);
			}
			this.jdbc.execute("DROP TABLE " + source);
		}
		double baseline = median(rates.get(names.get(0)));
		System.out.println();
		System.out.println("zdm cross-table copy profile, " + rows + " rows, batches of " + batch + ", PostgreSQL "
				+ version + ", median of " + ROUNDS + " rounds, load average " + loadAverage());
		System.out.printf("%-56s %10s %8s  %s%n", "", "rows/s", "ratio", "each round");
		for (String name : names) {
			double rate = median(rates.get(name));
			System.out.printf("%-56s %10.0f %7.2fx  %s%n", name, rate, rate / baseline,
					format(rates.get(name), "%.0f"));
		}
		plans.forEach(System.out::println);
		System.out.println();
	}

	/**
	 * Issue 21's pacing figures, side by side in one run: the copy at default settings on
	 * an idle database against one {@code UPDATE} (same-table) and one
	 * {@code INSERT ... SELECT} (cross-table); a workload from outside the JVM (pgbench)
	 * in windows with the copy paused and copying, at default settings and at fixed
	 * settings; a traffic spike in the middle of the copy; each against its target.
	 * {@code -Dzdm.benchmark.pacing-rows=N} (1,000,000) sets the idle tables' size,
	 * {@code -Dzdm.benchmark.pacing-10m=true} adds 10,000,000 rows,
	 * {@code -Dzdm.benchmark.fixed=5:200,10:200,20:200,40:200} the fixed settings tried
	 * (target batch ms:pause ms, empty for none; the default grid reaches past the bound
	 * on a fast machine, so that the best fixed setting within it is found rather than
	 * one far below it), {@code -Dzdm.benchmark.pacing-idle=false} leaves out the idle
	 * tables, {@code -Dzdm.benchmark.pacing-workload=false} the part under pgbench,
	 * {@code -Dzdm.benchmark.spike-rounds=N} (3) how many spikes are run (their median is
	 * read), {@code -Dzdm.benchmark.pgbench-rows}, {@code -Dzdm.benchmark.windows} and
	 * {@code -Dzdm.benchmark.window-seconds} the workload's table and windows.
	 */
	@Test
	void pacingByImpact() throws Exception {
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		warmPools();
		List<String> verdicts = new ArrayList<>();
		List<Integer> sizes = new ArrayList<>(List.of(Integer.getInteger("zdm.benchmark.pacing-rows", 1_000_000)));
		if (Boolean.getBoolean("zdm.benchmark.pacing-10m")) {
			sizes.add(10_000_000);
		}
		System.out.println();
		System.out.println("zdm pacing benchmark, PostgreSQL "
				+ this.jdbc.queryForObject("SHOW server_version", String.class) + ", load average " + loadAverage());
		System.out.printf("%-56s %14s %14s %8s%n", "idle database, copy at default settings", "statement", "copy",
				"ratio");
		if (!Boolean.parseBoolean(System.getProperty("zdm.benchmark.pacing-idle", "true"))) {
			sizes.clear();
		}
		for (int rows : sizes) {
			String same = "pace_same_" + rows;
			createTable(same, rows);
			String update = same + "_update";
			createTable(update, rows);
			long start = System.nanoTime();
			warmStatements().update("UPDATE " + update + " SET email_address = lower(email)");
			double updateRate = rows / ((System.nanoTime() - start) / 1e9);
			PhaseController controller = start("pace-same-" + rows,
					migration("pace-same-" + rows, same, BackfillSettings.defaults()), warmRunners());
			BackfillProgress copied = awaitCopied(service, "pace-same-" + rows);
			controller.stop();
			double copyRate = rows / seconds(copied.startedAt(), copied.copiedAt());
			System.out.printf("%-56s %14.0f %14.0f %7.2fx%n", "same-table, " + rows + " rows, rows/s vs one UPDATE",
					updateRate, copyRate, copyRate / updateRate);
			verdicts.add(verdict("idle same-table copy at " + rows + " rows vs one UPDATE", copyRate / updateRate, ">=",
					0.6));
			this.jdbc.execute("DROP TABLE " + same);
			// beside it, what the pacing costs an idle copy: the same copy unpaced
			String unpaced = "pace_same_off_" + rows;
			createTable(unpaced, rows);
			PhaseController off = start("pace-same-off-" + rows,
					migration("pace-same-off-" + rows, unpaced, BackfillSettings.defaults().withoutPacing()),
					warmRunners());
			BackfillProgress offCopied = awaitCopied(service, "pace-same-off-" + rows);
			off.stop();
			double offRate = rows / seconds(offCopied.startedAt(), offCopied.copiedAt());
			System.out.printf("%-56s %14.0f %14.0f %7.2fx%n", "  same, pacing off (withoutPacing), for comparison",
					updateRate, offRate, offRate / updateRate);
			this.jdbc.execute("DROP TABLE " + unpaced + ", " + update);
			String cross = "pace_cross_" + rows;
			createTable(cross, rows);
			createTarget(cross + "_target");
			createTarget(cross + "_insert");
			double insertRate = insertSelect(cross, cross + "_insert", rows);
			double crossRate = crossTableBackfill(service, "pace-cross-" + rows, cross, rows, new ArrayList<>(),
					BackfillSettings.defaults());
			System.out.printf("%-56s %14.0f %14.0f %7.2fx%n",
					"cross-table, " + rows + " rows, rows/s vs one INSERT ... SELECT", insertRate, crossRate,
					crossRate / insertRate);
			verdicts.add(verdict("idle cross-table copy at " + rows + " rows vs one INSERT ... SELECT",
					crossRate / insertRate, ">=", 0.6));
			this.jdbc.execute("DROP TABLE " + cross + ", " + cross + "_target");
			String crossOff = "pace_cross_off_" + rows;
			createTable(crossOff, rows);
			createTarget(crossOff + "_target");
			double crossOffRate = crossTableBackfill(service, "pace-cross-off-" + rows, crossOff, rows,
					new ArrayList<>(), BackfillSettings.defaults().withoutPacing());
			System.out.printf("%-56s %14.0f %14.0f %7.2fx%n", "  same, pacing off (withoutPacing), for comparison",
					insertRate, crossOffRate, crossOffRate / insertRate);
			this.jdbc.execute("DROP TABLE " + crossOff + ", " + crossOff + "_target, " + cross + "_insert");
		}

		PgBench pgbench = PgBench.locate();
		if (!Boolean.parseBoolean(System.getProperty("zdm.benchmark.pacing-workload", "true"))) {
			System.out.println("the part under a workload is off (-Dzdm.benchmark.pacing-workload=false)");
		}
		else if (pgbench == null) {
			System.out.println();
			System.out
				.println("pgbench not found (PATH, /usr/lib/postgresql/*/bin): the workload runs outside the JVM, "
						+ "install it with 'apt-get install postgresql-client' (Debian, Ubuntu), 'dnf install postgresql' "
						+ "or 'brew install libpq', or set -Dzdm.benchmark.pgbench=/path/to/pgbench");
		}
		else {
			int workloadRows = Integer.getInteger("zdm.benchmark.pgbench-rows", WORKLOAD_ROWS);
			List<WorkloadRun> runs = new ArrayList<>();
			runs.add(workloadRun(service, pgbench, "defaults", BackfillSettings.defaults(), workloadRows, WARM_UP));
			for (String fixed : System.getProperty("zdm.benchmark.fixed", "5:200,10:200,20:200,40:200").split(",")) {
				if (fixed.isBlank()) {
					continue;
				}
				String[] parts = fixed.split(":");
				BackfillSettings settings = BackfillSettings.defaults()
					.toBuilder()
					.maxLatencyIncrease(Double.POSITIVE_INFINITY)
					.targetBatchDuration(Duration.ofMillis(Long.parseLong(parts[0].strip())))
					.pause(Duration.ofMillis(Long.parseLong(parts[1].strip())))
					.build();
				runs.add(workloadRun(service, pgbench,
						"fixed " + parts[0].strip() + " ms batches, " + parts[1].strip() + " ms pause", settings,
						workloadRows, FIXED_WARM_UP));
			}
			System.out.println();
			System.out.printf("%-44s %9s %9s %9s %9s %9s %9s %9s %7s %9s %9s%n",
					"pgbench workload (" + pgbench.describe() + ")", "p99 first", "p50 off", "p99 off", "max off",
					"p50 on", "p99 on", "max on", "p99", "vs first", "rows/s");
			WorkloadRun best = null;
			for (WorkloadRun run : runs) {
				System.out.printf("%-44s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %6.2fx %8.2fx %9.0f%n", run.label(),
						run.before().percentile(99), run.paused().percentile(50), run.paused().percentile(99),
						run.paused().max(), run.copying().percentile(50), run.copying().percentile(99),
						run.copying().max(), run.p99Ratio(), run.p99RatioToBefore(), run.rowsPerSecond());
				if (run != runs.get(0) && run.p99Ratio() <= 1.2
						&& (best == null || run.rowsPerSecond() > best.rowsPerSecond())) {
					best = run;
				}
			}
			WorkloadRun defaults = runs.get(0);
			System.out.println("  p99 first: the workload alone for three windows before the copy starts; off: the "
					+ "windows the copy is paused; on: the windows it copies; the copy at defaults ran "
					+ WARM_UP.toSeconds()
					+ " s under the workload before its windows (-Dzdm.benchmark.warm-up-seconds), " + "each fixed one "
					+ FIXED_WARM_UP.toSeconds() + " s (-Dzdm.benchmark.fixed-warm-up-seconds)");
			verdicts.add(verdict("workload p99 copying vs paused, defaults", defaults.p99Ratio(), "<=", 1.2));
			verdicts.add(verdict("workload p99 copying vs before the copy started, defaults",
					defaults.p99RatioToBefore(), "<=", 1.2));
			if (best != null) {
				verdicts.add(verdict("rows/s at defaults vs best fixed setting within 1.2x (" + best.label() + ")",
						defaults.rowsPerSecond() / best.rowsPerSecond(), ">=", 2.0));
			}
			else {
				System.out.println("no fixed setting kept the p99 within 1.2x in this run");
			}
			// a spike's 0.5 s bucket holds about 200 transactions of the steady
			// workload, so its p99 is two of them: the median of several spikes counts
			int spikes = Integer.getInteger("zdm.benchmark.spike-rounds", 3);
			List<Double> recoveries = new ArrayList<>();
			List<Double> speedUps = new ArrayList<>();
			for (int round = 1; round <= spikes; round++) {
				SpikeRun spike = spikeRun(service, pgbench, workloadRows, round);
				System.out.printf("%-56s %14.1f   (p99 paused %.2f ms, doubled and paused %.2f ms)%n",
						"spike " + round + " (workload doubled): s until p99 within 1.2x", spike.recovered(),
						spike.pausedP99(), spike.doubledP99());
				System.out.printf("%-56s %14.1f%n", "  of the steady workload's paused p99 instead",
						spike.recoveredToSteady());
				System.out.printf("%-56s %14.1f%n", "  after the spike: s until the copy is back to its rate",
						spike.speedUp());
				// a spike never recovered from counts as the slowest
				recoveries.add(Double.isNaN(spike.recovered()) ? Double.POSITIVE_INFINITY : spike.recovered());
				speedUps.add(Double.isNaN(spike.speedUp()) ? Double.POSITIVE_INFINITY : spike.speedUp());
			}
			verdicts.add(verdict(
					"spike: seconds until p99 within 1.2x of the doubled workload's paused p99, median of " + spikes,
					median(recoveries), "<=", 2.0));
			verdicts.add(verdict("after the spike: seconds until the copy speeds up again, median of " + spikes,
					median(speedUps), "<=", 10.0));
		}
		System.out.println();
		System.out.println("targets (issue 21)");
		verdicts.forEach(System.out::println);
		System.out.println();
	}

	/**
	 * A same-table copy over a key of two columns ({@code (tenant, id)}, 20 tenants)
	 * against the same copy over a single-column key, each on a fresh table of the same
	 * rows, pacing off, rounds alternating; target: at least 0.9x (issue 25). Three
	 * layouts: the tenants in blocks (both keys walk the table in its physical order),
	 * interleaved (tenant = id mod 20: each batch touches rows spread over the whole
	 * table, as any key whose order is not the rows' order does), and in blocks with a
	 * bigint tenant. Each layout's own single {@code UPDATE} of all rows runs beside it
	 * on an identical table: a wider key index costs every statement that rewrites the
	 * rows, the application's as much as the copy's, so the target is read on the copy's
	 * share of its own table's statement, the part of the speed the key's mechanism
	 * decides; the plain ratio is printed too. {@code -Dzdm.benchmark.composite-rows=N}
	 * (1,000,000) sets the tables' size,
	 * {@code -Dzdm.benchmark.composite-layouts=xone,xblocks} runs only some layouts (each
	 * kind's single-column layout among them).
	 */
	@Test
	void compositeKeyAgainstSingleColumnKey() throws Exception {
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		warmPools();
		int rows = Integer.getInteger("zdm.benchmark.composite-rows", 1_000_000);
		// kind, tenant type, tenant of row i, composite, cross-table, label; each kind's
		// first layout is its single-column key
		String[][] layouts = { { "one", "text", "(i - 1) / ?", "false", "false", "key (id)" },
				{ "blocks", "text", "(i - 1) / ?", "true", "false", "(tenant text, id), tenants in blocks" },
				{ "mixed", "text", "i % 20 + 0 * ?", "true", "false", "(tenant text, id), tenants interleaved" },
				{ "numbers", "bigint", "(i - 1) / ?", "true", "false", "(tenant bigint, id), tenants in blocks" },
				{ "xone", "text", "(i - 1) / ?", "false", "true", "cross-table, key (id)" },
				{ "xblocks", "text", "(i - 1) / ?", "true", "true", "cross-table, (tenant text, id), in blocks" } };
		String only = System.getProperty("zdm.benchmark.composite-layouts");
		if (only != null) {
			List<String> kinds = List.of(only.split(","));
			layouts = Arrays.stream(layouts).filter((layout) -> kinds.contains(layout[0])).toArray(String[][]::new);
		}
		List<List<Double>> copies = new ArrayList<>();
		List<List<Double>> updates = new ArrayList<>();
		for (int layout = 0; layout < layouts.length; layout++) {
			copies.add(new ArrayList<>());
			updates.add(new ArrayList<>());
		}
		for (int round = 0; round < 3; round++) {
			for (int layout = 0; layout < layouts.length; layout++) {
				String[] shape = layouts[layout];
				boolean composite = Boolean.parseBoolean(shape[3]);
				boolean cross = Boolean.parseBoolean(shape[4]);
				updates.get(layout).add(keyedStatement(shape[0], shape[1], shape[2], round, rows, composite, cross));
				copies.get(layout).add(keyedCopy(service, shape[0], shape[1], shape[2], round, rows, composite, cross));
			}
		}
		System.out.println();
		System.out.println("zdm composite key benchmark, " + rows + " rows, PostgreSQL "
				+ this.jdbc.queryForObject("SHOW server_version", String.class) + ", load average " + loadAverage()
				+ ", median of 3 alternating rounds, pacing off");
		System.out.printf("%-44s %10s %10s %10s %12s %12s%n", "copy, rows/s", "statement", "zdm copy", "zdm/stmt",
				"vs key (id)", "share vs id");
		double[] shares = new double[layouts.length];
		int single = 0;
		for (int layout = 0; layout < layouts.length; layout++) {
			if (!Boolean.parseBoolean(layouts[layout][3])) {
				single = layout;
			}
			double copy = median(copies.get(layout));
			double statement = median(updates.get(layout));
			double singleCopy = median(copies.get(single));
			shares[layout] = (copy / statement) / (singleCopy / median(updates.get(single)));
			System.out.printf("%-44s %10.0f %10.0f %9.2fx %11.2fx %11.2fx%n", layouts[layout][5], statement, copy,
					copy / statement, copy / singleCopy, shares[layout]);
		}
		System.out
			.println("  statement: one UPDATE of all rows (same-table), one INSERT ... SELECT (cross-table), each "
					+ "on an identical table");
		for (int layout = 0; layout < layouts.length; layout++) {
			System.out.printf("  %-42s statement %s | zdm %s%n", layouts[layout][5],
					format(updates.get(layout), "%.0f"), format(copies.get(layout), "%.0f"));
		}
		// the interleaved layout is not a target: its batches touch rows spread over the
		// table, as a single-column key's would in the same order
		for (int layout = 0; layout < layouts.length; layout++) {
			if (Boolean.parseBoolean(layouts[layout][3]) && !layouts[layout][0].equals("mixed")) {
				System.out.println(verdict("copy's share of its statement vs key (id): " + layouts[layout][5],
						shares[layout], ">=", 0.9));
			}
		}
		System.out.println();
	}

	/**
	 * Create a table of rows with 20 tenants ({@code tenant} text or bigint), keyed by
	 * {@code id} or by {@code (tenant, id)}, vacuumed and analyzed.
	 */
	private void keyedTable(String table, String tenantType, String tenantOf, int rows, boolean composite,
			boolean cross) {
		String key = composite ? "(tenant, id))" : "(id))";
		this.jdbc.execute("CREATE TABLE " + table + " (tenant " + tenantType + " NOT NULL, id bigint NOT NULL, "
				+ "email text NOT NULL, email_address text, note text, PRIMARY KEY " + key);
		if (cross) {
			this.jdbc.execute("CREATE TABLE " + table + "_target (tenant " + tenantType + " NOT NULL, id bigint NOT "
					+ "NULL, email_address text, note text, PRIMARY KEY " + key);
		}
		String tenant = tenantType.equals("text") ? "'tenant-' || lpad((" + tenantOf + ")::text, 2, '0')"
				: "(" + tenantOf + ")";
		this.jdbc.update(
				"INSERT INTO " + table + " (tenant, id, email, note) SELECT " + tenant
						+ ", i, 'User' || i || '@Example.COM', md5(i::text) FROM generate_series(1, ?) AS i",
				Math.max(1, rows / 20), rows);
		this.jdbc.execute("VACUUM ANALYZE " + table);
	}

	/**
	 * Rewrite a fresh keyed table by one {@code UPDATE} of all its rows, or copy it by
	 * one {@code INSERT ... SELECT} into its target; return the rows per second.
	 */
	private double keyedStatement(String kind, String tenantType, String tenantOf, int round, int rows,
			boolean composite, boolean cross) {
		String table = "keyed_statement_" + kind + "_" + round;
		keyedTable(table, tenantType, tenantOf, rows, composite, cross);
		long start = System.nanoTime();
		warmStatements().update(cross
				? "INSERT INTO " + table + "_target (tenant, id, email_address, note) SELECT "
						+ "tenant, id, lower(email), note FROM " + table
				: "UPDATE " + table + " SET email_address = lower(email)");
		double rate = rows / ((System.nanoTime() - start) / 1e9);
		dropKeyed(table, cross);
		return rate;
	}

	/**
	 * Copy a fresh keyed table at pacing off, inside it or into its target; return the
	 * rows per second.
	 */
	private double keyedCopy(BackfillService service, String kind, String tenantType, String tenantOf, int round,
			int rows, boolean composite, boolean cross) {
		String table = "keyed_" + kind + "_" + round;
		keyedTable(table, tenantType, tenantOf, rows, composite, cross);
		String id = "keyed-" + kind + "-" + round;
		MigrationDefinition.Builder migration = migration(id, table, BackfillSettings.defaults().withoutPacing())
			.toBuilder();
		if (cross) {
			migration = MigrationDefinition.builder(id)
				.requestedPhase(Phase.BACKFILL)
				.table(table)
				.targetTable(table + "_target")
				.up("email_address", "lower(email)")
				.up("note", "note")
				.backfill(BackfillSettings.defaults().withoutPacing());
		}
		if (composite) {
			migration = migration.key("tenant", "id");
			if (cross) {
				migration = migration.targetKey("tenant", "id");
			}
		}
		else if (cross) {
			migration = migration.up("tenant", "tenant");
		}
		PhaseController controller = start(id, migration.build(), warmRunners());
		BackfillProgress copied = awaitCopied(service, id);
		controller.stop();
		dropKeyed(table, cross);
		return rows / seconds(copied.startedAt(), copied.copiedAt());
	}

	private void dropKeyed(String table, boolean cross) {
		this.jdbc.execute("DROP TABLE " + table + (cross ? ", " + table + "_target" : ""));
	}

	private static String verdict(String what, double value, String comparison, double target) {
		boolean met = comparison.equals(">=") ? value >= target : value <= target;
		return String.format("  %-72s %8.2f  target %s %.2f  %s", what, value, comparison, target,
				met ? "met" : "NOT MET");
	}

	private BackfillProgress awaitCopied(BackfillService service, String id) {
		// the rate comes from the copy's own timestamps; polling rarely keeps an idle
		// database idle (a query every 50 ms is a workload the tail signal counts)
		await().atMost(Duration.ofHours(2)).pollInterval(IDLE_POLL).until(() -> {
			BackfillProgress progress = service.progress(id);
			return progress != null && progress.copiedAt() != null;
		});
		return service.progress(id);
	}

	/**
	 * Run pgbench against a table while the copy alternates between paused and copying
	 * windows; the latencies come from pgbench's own per-transaction log.
	 */
	private WorkloadRun workloadRun(BackfillService service, PgBench pgbench, String label, BackfillSettings settings,
			int rows, Duration warmUp) throws Exception {
		String table = "pace_workload";
		createTable(table, rows);
		String id = "pace-" + Math.abs(label.hashCode());
		List<long[]> paused = new ArrayList<>();
		List<long[]> copying = new ArrayList<>();
		long rowsCopied = 0;
		long nanosCopying = 0;
		try (PgBench.Run run = pgbench.start(postgres, table, rows, 1,
				WINDOWS * 2 * WINDOW.toSeconds() + warmUp.toSeconds() + 60)) {
			// the workload alone before any copy: what the paused windows would read if
			// the copy left nothing behind in them (dirty pages, WAL, vacuums)
			Thread.sleep(WINDOW.toMillis() / 2);
			long alone = System.currentTimeMillis();
			Thread.sleep(WINDOW.toMillis() * 3);
			long[] before = { alone, System.currentTimeMillis() };
			PhaseController controller = start(id, migration(id, table, settings), warmRunners());
			await().atMost(Duration.ofMinutes(1))
				.until(() -> service.progress(id) != null && service.progress(id).rowsDone() > 0);
			// the warm-up ends early once half the table is copied, so that the windows
			// still have a copy to pause and resume (a copy that finds the workload
			// unhurt may run most of the time)
			long warmUpStart = System.nanoTime();
			while (System.nanoTime() - warmUpStart < warmUp.toNanos() && service.progress(id).rowsDone() < rows / 2) {
				Thread.sleep(100);
			}
			long warmedSeconds = Math.round((System.nanoTime() - warmUpStart) / 1e9);
			if (warmedSeconds < warmUp.toSeconds()) {
				System.out
					.println("  " + label + ": warm-up ended after " + warmedSeconds + " s, half the table copied");
			}
			for (int window = 0; window < WINDOWS; window++) {
				service.pause(id);
				await().atMost(Duration.ofSeconds(30))
					.until(() -> service.progress(id).state() == BackfillState.PAUSED);
				paused.add(new long[] { System.currentTimeMillis(), sleepWindow() });
				long done = service.progress(id).rowsDone();
				service.resume(id);
				await().atMost(Duration.ofSeconds(30)).until(() -> service.progress(id).rowsDone() > done);
				long from = System.nanoTime();
				long start = service.progress(id).rowsDone();
				copying.add(new long[] { System.currentTimeMillis(), sleepWindow() });
				rowsCopied += service.progress(id).rowsDone() - start;
				nanosCopying += System.nanoTime() - from;
			}
			controller.stop();
			List<long[]> transactions = run.stop();
			this.jdbc.execute("DROP TABLE " + table);
			this.jdbc.update("DELETE FROM zdm_backfill WHERE migration_id = ?", id);
			return new WorkloadRun(label, latencies(transactions, List.of(before)), latencies(transactions, paused),
					latencies(transactions, copying), rowsCopied / (nanosCopying / 1e9));
		}
	}

	/**
	 * The copy at defaults under pgbench, with a second pgbench doubling the workload for
	 * a while: how long until the p99 (in 0.5 s buckets) is back within 1.2x of the
	 * doubled workload's p99 with the copy paused (measured after the spike, as the
	 * paused windows are for the steady workload), and of the steady workload's, and how
	 * long after the spike until the copy is back to 80% of its rate before it.
	 */
	private SpikeRun spikeRun(BackfillService service, PgBench pgbench, int rows, int round) throws Exception {
		String table = "pace_spike_" + round;
		createTable(table, rows);
		String id = "pace-spike-" + round;
		long seconds = 4L * WINDOW.toSeconds() + 30;
		try (PgBench.Run run = pgbench.start(postgres, table, rows, 1, seconds + 60)) {
			PhaseController controller = start(id, migration(id, table, BackfillSettings.defaults()), warmRunners());
			await().atMost(Duration.ofMinutes(1))
				.until(() -> service.progress(id) != null && service.progress(id).rowsDone() > 0);
			service.pause(id);
			await().atMost(Duration.ofSeconds(30)).until(() -> service.progress(id).state() == BackfillState.PAUSED);
			long[] baselineWindow = { System.currentTimeMillis(), sleepWindow() };
			service.resume(id);
			Thread.sleep(WINDOW.toMillis() * 2);
			long before = service.progress(id).rowsDone();
			Thread.sleep(WINDOW.toMillis());
			double rateBefore = (service.progress(id).rowsDone() - before) / (double) WINDOW.toSeconds();
			long spikeStart = System.currentTimeMillis();
			try (PgBench.Run spike = pgbench.start(postgres, table, rows, 1, WINDOW.toSeconds() * 2)) {
				spike.awaitEnd();
			}
			long spikeEnd = System.currentTimeMillis();
			System.out
				.println("spike from " + LocalTime.ofInstant(Instant.ofEpochMilli(spikeStart), ZoneId.systemDefault())
						+ " to " + LocalTime.ofInstant(Instant.ofEpochMilli(spikeEnd), ZoneId.systemDefault()));
			double speedUp = Double.NaN;
			long last = service.progress(id).rowsDone();
			for (int i = 1; i <= 40 && service.progress(id).copiedAt() == null; i++) {
				Thread.sleep(250);
				long now = service.progress(id).rowsDone();
				if ((now - last) * 4 >= 0.8 * rateBefore) {
					speedUp = (System.currentTimeMillis() - spikeEnd) / 1000.0;
					break;
				}
				last = now;
			}
			// the doubled workload with the copy paused: what the bound is read against
			// during the spike, as the paused windows are for the steady workload
			service.pause(id);
			await().atMost(Duration.ofSeconds(30)).until(() -> service.progress(id).state() == BackfillState.PAUSED);
			long[] doubledWindow;
			try (PgBench.Run doubled = pgbench.start(postgres, table, rows, 1, WINDOW.toSeconds() * 2)) {
				Thread.sleep(WINDOW.toMillis() / 2);
				doubledWindow = new long[] { System.currentTimeMillis(), sleepWindow() };
				doubled.awaitEnd();
			}
			controller.stop();
			List<long[]> transactions = run.stop();
			double baselineP99 = latencies(transactions, List.of(baselineWindow)).percentile(99);
			double doubledP99 = latencies(transactions, List.of(doubledWindow)).percentile(99);
			this.jdbc.execute("DROP TABLE " + table);
			return new SpikeRun(recoveredAfter(transactions, spikeStart, spikeEnd, doubledP99), speedUp,
					recoveredAfter(transactions, spikeStart, spikeEnd, baselineP99), baselineP99, doubledP99);
		}
	}

	/**
	 * Seconds from the spike's start to the end of the first 0.5 s bucket whose p99 is
	 * within 1.2x of a paused p99, {@code NaN} if none within the spike.
	 */
	private static double recoveredAfter(List<long[]> transactions, long spikeStart, long spikeEnd, double pausedP99) {
		for (long bucket = spikeStart; bucket < spikeEnd; bucket += 500) {
			Latencies in = latencies(transactions, List.of(new long[] { bucket, bucket + 500 }));
			if (in.count() > 0 && in.percentile(99) <= 1.2 * pausedP99) {
				return (bucket + 500 - spikeStart) / 1000.0;
			}
		}
		return Double.NaN;
	}

	private long sleepWindow() throws InterruptedException {
		Thread.sleep(WINDOW.toMillis());
		return System.currentTimeMillis();
	}

	/** The latencies of the transactions that ended in the windows ({from, to} in ms). */
	private static Latencies latencies(List<long[]> transactions, List<long[]> windows) {
		long[] in = transactions.stream()
			.filter((transaction) -> windows.stream()
				.anyMatch((window) -> transaction[0] >= window[0] && transaction[0] < window[1]))
			.mapToLong((transaction) -> transaction[1])
			.sorted()
			.toArray();
		return new Latencies((in.length > 0) ? in : new long[] { 0 });
	}

	/**
	 * One spike's figures, in seconds ({@code NaN} if never) and milliseconds.
	 *
	 * @param recovered until the p99 is within 1.2x of the doubled workload's paused p99
	 * @param speedUp after the spike, until the copy is back to 80% of its rate
	 * @param recoveredToSteady until the p99 is within 1.2x of the steady workload's
	 * paused p99
	 * @param pausedP99 the steady workload's p99 with the copy paused
	 * @param doubledP99 the doubled workload's p99 with the copy paused
	 */
	private record SpikeRun(double recovered, double speedUp, double recoveredToSteady, double pausedP99,
			double doubledP99) {

	}

	private record WorkloadRun(String label, Latencies before, Latencies paused, Latencies copying,
			double rowsPerSecond) {

		double p99Ratio() {
			return this.copying.percentile(99) / this.paused.percentile(99);
		}

		double p99RatioToBefore() {
			return this.copying.percentile(99) / this.before.percentile(99);
		}

	}

	/**
	 * pgbench, the workload from outside the JVM: 4 clients at 400 transactions per
	 * second, half point reads, half single-row updates of random rows, as in issue 21.
	 */
	private record PgBench(String executable) {

		static @Nullable PgBench locate() {
			String configured = System.getProperty("zdm.benchmark.pgbench");
			List<java.nio.file.Path> candidates = new ArrayList<>();
			if (configured != null) {
				candidates.add(java.nio.file.Path.of(configured));
			}
			for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
				candidates.add(java.nio.file.Path.of(dir, "pgbench"));
			}
			java.io.File[] versions = new java.io.File("/usr/lib/postgresql").listFiles();
			if (versions != null) {
				for (java.io.File version : versions) {
					candidates.add(version.toPath().resolve("bin/pgbench"));
				}
			}
			return candidates.stream()
				.filter(java.nio.file.Files::isExecutable)
				.findFirst()
				.map((path) -> new PgBench(path.toString()))
				.orElse(null);
		}

		String describe() {
			return "4 clients, " + Integer.getInteger("zdm.benchmark.pgbench-rate", 400) + " tx/s, ms";
		}

		Run start(PostgresExtension postgres, String table, int rows, int scale, long seconds) throws Exception {
			HikariDataSource dataSource = (HikariDataSource) postgres.dataSource();
			java.net.URI uri = java.net.URI.create(dataSource.getJdbcUrl().substring("jdbc:".length()));
			java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("zdm-pgbench");
			java.nio.file.Path script = dir.resolve("workload.sql");
			java.nio.file.Files.writeString(script,
					"\\set id random(1, " + rows + ")\n\\set kind random(0, 1)\n" + "\\if :kind = 0\nSELECT email FROM "
							+ table + " WHERE id = :id;\n\\else\nUPDATE " + table
							+ " SET email = email WHERE id = :id;\n\\endif\n");
			String database = uri.getPath().substring(1);
			int query = database.indexOf('?');
			database = (query >= 0) ? database.substring(0, query) : database;
			ProcessBuilder builder = new ProcessBuilder(this.executable, "-n", "-h", uri.getHost(), "-p",
					String.valueOf(uri.getPort()), "-U", dataSource.getUsername(), "-c", "4", "-j", "2", "-R",
					String.valueOf(Integer.getInteger("zdm.benchmark.pgbench-rate", 400)), "-T",
					String.valueOf(seconds), "-f", script.toString(), "-l", "--log-prefix",
					dir.resolve("log").toString(), database);
			builder.environment().put("PGPASSWORD", String.valueOf(dataSource.getPassword()));
			builder.directory(dir.toFile());
			builder.redirectErrorStream(true);
			builder.redirectOutput(dir.resolve("output.txt").toFile());
			return new Run(builder.start(), dir);
		}

		record Run(Process process, java.nio.file.Path dir) implements AutoCloseable {

			void awaitEnd() throws InterruptedException {
				this.process.waitFor();
			}

			/**
			 * Stop pgbench and read its log: per transaction {end in epoch ms, latency in
			 * ns}.
			 */
			List<long[]> stop() throws Exception {
				this.process.destroy();
				this.process.waitFor();
				List<long[]> transactions = new ArrayList<>();
				try (var logs = java.nio.file.Files.list(this.dir)) {
					for (java.nio.file.Path log : logs.filter((path) -> path.getFileName().toString().startsWith("log"))
						.toList()) {
						for (String line : java.nio.file.Files.readAllLines(log)) {
							// client transaction latency-us script epoch-s epoch-us
							// [lag-us]
							String[] fields = line.split(" ");
							if (fields.length >= 6 && !fields[2].equals("skipped")) {
								long end = Long.parseLong(fields[4]) * 1000 + Long.parseLong(fields[5]) / 1000;
								transactions.add(new long[] { end, Long.parseLong(fields[2]) * 1000 });
							}
						}
					}
				}
				return transactions;
			}

			@Override
			public void close() {
				this.process.destroy();
			}

		}

	}

	/** The plan of the new copy statement for a batch in the middle of the table. */
	private String plan(String source, String target, int rows, int batch, String label) {
		this.jdbc.execute("ANALYZE " + target);
		NamedParameterJdbcTemplate named = new NamedParameterJdbcTemplate(this.jdbc);
		MapSqlParameterSource range = new MapSqlParameterSource()
			.addValue("lo", BackfillBatches.key(Integer.toString(rows / 2)))
			.addValue("hi", BackfillBatches.key(Integer.toString(rows / 2 + batch)));
		return "plan of the new copy statement, " + label + ":\n  " + String.join("\n  ", named
			.queryForList("EXPLAIN (COSTS OFF) " + afterFirst(profiled(source, target), false), range, String.class));
	}

	/**
	 * A copy statement of a single-column key in the form of a range after the first.
	 */
	private static String afterFirst(BackfillStatements statements, boolean onConflict) {
		BackfillStatements.KeyBounds range = statements.range("0", "1", 0);
		return onConflict ? Objects.requireNonNull(statements.copyOnConflict(range)) : statements.copy(range);
	}

	private static String loadAverage() {
		return String.format("%.1f",
				java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
	}

	private static BackfillStatements profiled(String source, String target) {
		return BackfillStatements.of(MigrationDefinition.builder("profile")
			.table(source)
			.key("id")
			.targetTable(target)
			.up("email_address", "lower(email)")
			.up("note", "note")
			.build());
	}

	/** Run a statement over consecutive key ranges, one transaction each. */
	private void batches(int rows, int batch, String statement) throws SQLException {
		try (Connection connection = warmStatements().getDataSource().getConnection()) {
			connection.setAutoCommit(false);
			NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(
					new SingleConnectionDataSource(connection, true));
			for (long lo = 0; lo < rows; lo += batch) {
				jdbc.update(statement,
						new MapSqlParameterSource().addValue("lo", BackfillBatches.key(Long.toString(lo)))
							.addValue("hi", BackfillBatches.key(Long.toString(Math.min(rows, lo + batch)))));
				connection.commit();
			}
			connection.setAutoCommit(true);
		}
	}

	/**
	 * What a runner's copy batches send, with the old copy statement (the upsert) or the
	 * new one (after a savepoint): the local timeouts, the range query, the copy and the
	 * checkpoint, one transaction per batch.
	 */
	private void batchLoop(String source, String target, int rows, int batch, String id, boolean newStatement)
			throws SQLException {
		BackfillStatements statements = profiled(source, target);
		BackfillSettings settings = BackfillSettings.defaults();
		try (Connection connection = warmStatements().getDataSource().getConnection()) {
			BackfillRepository repository = new BackfillRepository(new SingleConnectionDataSource(connection, true));
			NamedParameterJdbcTemplate jdbc = new NamedParameterJdbcTemplate(repository.jdbcTemplate());
			new MigrationStateRepository(postgres.dataSource()).register(id);
			repository.ensure(id);
			repository.claim(id, "profile", BackfillState.RUNNING);
			String upper = Integer.toString(rows);
			repository.start(id, upper, rows);
			connection.setAutoCommit(false);
			String last = null;
			while (true) {
				repository.setLocalTimeouts(settings.lockTimeout(), settings.statementTimeout());
				BackfillStatements.KeyBounds walked = statements.range(last, upper, batch);
				Map<String, Object> found = jdbc.queryForMap(statements.copyRange(walked), walked.parameters());
				long count = ((Number) found.get("count")).longValue();
				if (count == 0) {
					connection.commit();
					connection.setAutoCommit(true);
					break;
				}
				String high = (String) found.get("max");
				BackfillStatements.KeyBounds range = statements.range(last, high, batch);
				long changed;
				if (newStatement) {
					repository.jdbcTemplate().execute(BackfillStatements.COPY_SAVEPOINT);
					changed = jdbc.update(statements.copy(range), range.parameters());
				}
				else {
					changed = jdbc.update(statements.copyOnConflict(range), range.parameters());
				}
				repository.checkpoint(id, "profile",
						new BackfillRepository.Checkpoint(high, count, changed, 0, batch, null, null, null));
				connection.commit();
				last = high;
			}
		}
	}

	@FunctionalInterface
	private interface CopyVariant {

		void copy(String source, String target, int round) throws Exception;

	}

	/** Both kinds at two sizes: rows/s and the JVM heap. */
	private double[][] measureScale(BackfillService service) throws InterruptedException {
		int[] sizes = { ROWS, SCALE_ROWS };
		double[][] scale = new double[2][10];
		for (int i = 0; i < 2; i++) {
			int rows = sizes[i];
			String table = "bench_scale_" + i;
			createTable(table, rows);
			HeapSampler heap = new HeapSampler();
			String id = "bench-scale-" + i;
			PhaseController controller = start(id, migration(id, table, BackfillSettings.defaults().withoutPacing()),
					warmRunners());
			await().atMost(Duration.ofHours(2))
				.pollInterval(Duration.ofMillis(100))
				.until(() -> service.progress(id) != null && service.progress(id).state() == BackfillState.VERIFIED);
			controller.stop();
			BackfillProgress progress = service.progress(id);
			scale[i][0] = rows / seconds(progress.startedAt(), progress.copiedAt());
			scale[i][1] = rows / seconds(progress.verification().startedAt(), progress.verification().finishedAt());
			double[] heapPeaks = heap.stop();
			scale[i][2] = heapPeaks[0];
			scale[i][3] = heapPeaks[1];
			createTarget(table + "_target");
			List<Double> crossVerify = new ArrayList<>();
			HeapSampler crossHeap = new HeapSampler();
			scale[i][4] = crossTableBackfill(service, "bench-scale-cross-" + i, table, rows, crossVerify, null);
			scale[i][5] = crossVerify.get(0);
			double[] crossHeapPeaks = crossHeap.stop();
			scale[i][6] = crossHeapPeaks[0];
			scale[i][7] = crossHeapPeaks[1];
			this.jdbc.execute("DROP TABLE " + table + ", " + table + "_target");
			// the same work as single statements on a fresh identical table: how the
			// database's own rate changes with the size, beside the runner's
			String statements = "bench_scale_statements_" + i;
			createTable(statements, rows);
			long start = System.nanoTime();
			warmStatements().update("UPDATE " + statements + " SET email_address = lower(email)");
			scale[i][8] = rows / ((System.nanoTime() - start) / 1e9);
			createTarget(statements + "_target");
			scale[i][9] = insertSelect(statements, statements + "_target", rows);
			this.jdbc.execute("DROP TABLE " + statements + ", " + statements + "_target");
		}
		return scale;
	}

	private static void printScale(double[][] scale, String version) {
		System.out.println("zdm backfill benchmark (scale), PostgreSQL " + version);
		System.out.printf("%-52s %14s %14s %8s%n", "scale (pacing off, one run each)", ROWS + " rows",
				SCALE_ROWS + " rows", "ratio");
		String[] names = { "same-table copy rows/s", "same-table verification rows/s", "  JVM heap used, peak (MB)",
				"  JVM heap after GC, peak (MB)", "cross-table copy rows/s", "cross-table verification rows/s",
				"  JVM heap used, peak (MB)", "  JVM heap after GC, peak (MB)",
				"  one UPDATE of a fresh table (no zdm), rows/s", "  one INSERT ... SELECT (no zdm), rows/s" };
		int[] order = { 0, 8, 1, 2, 3, 4, 9, 5, 6, 7 };
		for (int row : order) {
			System.out.printf("%-52s %14.0f %14.0f %7.2fx%n", names[row], scale[0][row], scale[1][row],
					scale[1][row] / scale[0][row]);
		}
		System.out.println();
	}

	private double insertSelect(String source, String target, int rows) {
		JdbcTemplate statements = warmStatements();
		long start = System.nanoTime();
		statements.update(
				"INSERT INTO " + target + " (id, email_address, note) SELECT id, lower(email), note FROM " + source);
		return rows / ((System.nanoTime() - start) / 1e9);
	}

	private double crossTableBackfill(BackfillService service, String id, String source, int rows,
			List<Double> verifyRates, @Nullable BackfillSettings settings) {
		return crossTableBackfill(service, id, source, rows, verifyRates, settings, warmRunners());
	}

	private double crossTableBackfill(BackfillService service, String id, String source, int rows,
			List<Double> verifyRates, @Nullable BackfillSettings settings, DataSource dataSource) {
		MigrationDefinition migration = MigrationDefinition.builder(id)
			.requestedPhase(Phase.BACKFILL)
			.table(source)
			.targetTable(source + "_target")
			.up("email_address", "lower(email)")
			.up("note", "note")
			.backfill((settings != null) ? settings : BackfillSettings.defaults().withoutPacing())
			.build();
		PhaseController controller = start(id, migration, dataSource);
		await().atMost(Duration.ofHours(2)).pollInterval(IDLE_POLL).until(() -> {
			BackfillProgress progress = service.progress(id);
			return progress != null && progress.state() == BackfillState.VERIFIED;
		});
		controller.stop();
		BackfillProgress progress = service.progress(id);
		verifyRates.add(rows / seconds(progress.verification().startedAt(), progress.verification().finishedAt()));
		return rows / seconds(progress.startedAt(), progress.copiedAt());
	}

	/** Rows/s the paced copy makes in one window. */
	private double copyWindow(BackfillService service, String id) throws InterruptedException {
		long before = service.progress(id).rowsDone();
		long start = System.nanoTime();
		Thread.sleep(WINDOW.toMillis());
		return (service.progress(id).rowsDone() - before) / ((System.nanoTime() - start) / 1e9);
	}

	/** Ask for a verification and return its rows/s. */
	private double verification(BackfillService service, String id) {
		BackfillVerification previous = service.progress(id).verification();
		service.verify(id);
		await().atMost(Duration.ofMinutes(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
			BackfillVerification latest = service.progress(id).verification();
			return latest != null && !latest.finishedAt().equals(previous.finishedAt());
		});
		BackfillVerification latest = service.progress(id).verification();
		return latest.rowsChecked() / seconds(latest.startedAt(), latest.finishedAt());
	}

	private static double seconds(java.time.Instant from, java.time.Instant to) {
		return Duration.between(from, to).toNanos() / 1e9;
	}

	private void createTarget(String table) {
		this.jdbc.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, email_address text, note text)");
	}

	/**
	 * The JVM's heap while it runs, sampled every 20 ms: the peak of the heap used, and
	 * the peak of what the heap held after a garbage collection (what stays reachable,
	 * which is what would grow with the table).
	 */
	private static final class HeapSampler {

		private final java.lang.management.MemoryMXBean memory = java.lang.management.ManagementFactory
			.getMemoryMXBean();

		private final List<java.lang.management.MemoryPoolMXBean> pools = java.lang.management.ManagementFactory
			.getMemoryPoolMXBeans()
			.stream()
			.filter((pool) -> pool.getType() == java.lang.management.MemoryType.HEAP)
			.toList();

		private final AtomicBoolean running = new AtomicBoolean(true);

		private volatile long peak;

		private volatile long peakAfterGc;

		private final Thread thread;

		HeapSampler() {
			System.gc();
			this.thread = new Thread(() -> {
				while (this.running.get()) {
					this.peak = Math.max(this.peak, this.memory.getHeapMemoryUsage().getUsed());
					long afterGc = this.pools.stream()
						.map(java.lang.management.MemoryPoolMXBean::getCollectionUsage)
						.filter(java.util.Objects::nonNull)
						.mapToLong(java.lang.management.MemoryUsage::getUsed)
						.sum();
					this.peakAfterGc = Math.max(this.peakAfterGc, afterGc);
					try {
						Thread.sleep(20);
					}
					catch (InterruptedException ex) {
						return;
					}
				}
			});
			this.thread.setDaemon(true);
			this.thread.start();
		}

		/** Stop and return the peaks in MB: used, and after a collection. */
		double[] stop() throws InterruptedException {
			this.running.set(false);
			this.thread.join();
			return new double[] { this.peak / 1024.0 / 1024.0, this.peakAfterGc / 1024.0 / 1024.0 };
		}

	}

	/**
	 * The cost of zdm's meters and of the lock and progress samplers, on the same
	 * workload while a backfill runs at default pacing, in windows that take turns: with
	 * them off (alternately into two buckets, whose comparison is the noise floor), with
	 * them on at zdm's default rates (every backfill event recorded, both samplers
	 * querying every 5 s, the default heartbeat, and every meter read once a second as a
	 * scrape would), and with them on at {@code zdm.benchmark.meter-amplification} times
	 * those rates (25 by default). A cost below this machine's noise at the default rates
	 * shows at the amplified ones, and scales down with the rate: each sampling and each
	 * scrape costs the same, so the default rates cost their share of the amplified cost.
	 * {@code zdm.benchmark.meter-windows} windows of each kind (60 by default), on a
	 * table large enough for the backfill to run through all of them.
	 */
	@Test
	void meterAndLockSamplerCostOnWorkloadLatency() throws Exception {
		int windows = Integer.getInteger("zdm.benchmark.meter-windows", 60);
		int amplification = Integer.getInteger("zdm.benchmark.meter-amplification", 25);
		// about 20,000 rows/s at default pacing, through three windows a turn
		int rows = (int) Math.max(WORKLOAD_ROWS, windows * 3 * (WINDOW.toMillis() + 250) * 22L);
		createTable("bench_observed", rows);
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		Workload workload = new Workload("bench_observed", rows);
		workload.start(windows * 2);
		// 0: off, 1: default rates, 2: amplified rates
		AtomicInteger observing = new AtomicInteger();
		SimpleMeterRegistry registry = new SimpleMeterRegistry();
		BackfillMetrics metrics = new BackfillMetrics(registry);
		AtomicLong listenerNanos = new AtomicLong();
		AtomicLong listenerCalls = new AtomicLong();
		AtomicLong samplerNanos = new AtomicLong();
		AtomicLong samplerCalls = new AtomicLong();
		DataSource dataSource = postgres.newDataSource("bench-observed", 4);
		// zdm's default fleet timing: the samplers run once per heartbeat, every 5 s
		FleetSettings fleet = new FleetSettings(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(30),
				Duration.ofHours(1));
		BackfillParticipant backfill = TestEngine.backfillParticipant(dataSource, fleet.timeout(), List.of(),
				new BackfillListener() {

					@Override
					public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
						if (observing.get() == 0) {
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
						if (observing.get() != 0) {
							metrics.holdsBack(migration, reason);
						}
					}

					@Override
					public void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
						if (observing.get() != 0) {
							metrics.heldBack(migration, reason, duration);
						}
					}

				});
		LockFiguresSampler locks = new LockFiguresSampler(new LockInspector(dataSource));
		BackfillProgressSampler progress = new BackfillProgressSampler(new JdbcBackfillService(dataSource));
		HeldBackTracker heldBack = new HeldBackTracker();
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration("bench-observed", "bench_observed", pacedSettings())),
				InstanceInfo.ofThisProcess("bench-observed", "benchmark", "1"), fleet, List.of(backfill));
		controller.start();
		new ZdmMetrics(controller, locks, progress, null, heldBack).bindTo(registry);
		// The samplers as a heartbeat runs them (every 5 s), and a scrape (every second),
		// each at its rate times the amplification in amplified windows.
		AtomicBoolean sampling = new AtomicBoolean(true);
		Thread sampler = new Thread(() -> {
			long lastSample = 0;
			long lastScrape = 0;
			while (sampling.get()) {
				int mode = observing.get();
				long now = System.nanoTime();
				long factor = (mode == 2) ? amplification : 1;
				if (mode != 0 && now - lastSample >= fleet.heartbeatInterval().toNanos() / factor) {
					lastSample = now;
					long start = System.nanoTime();
					MigrationStatus status = controller.status("bench-observed");
					locks.afterHeartbeat(status);
					progress.afterHeartbeat(status);
					heldBack.afterHeartbeat(status);
					if (mode == 1) {
						samplerNanos.addAndGet(System.nanoTime() - start);
						samplerCalls.incrementAndGet();
					}
				}
				if (mode != 0 && now - lastScrape >= 1_000_000_000L / factor) {
					lastScrape = now;
					for (Meter meter : registry.getMeters()) {
						for (Measurement measurement : meter.measure()) {
							measurement.getValue();
						}
					}
				}
				try {
					Thread.sleep(5);
				}
				catch (InterruptedException ex) {
					return;
				}
			}
		}, "bench-sampler");
		sampler.start();
		await().atMost(Duration.ofSeconds(60)).until(() -> {
			BackfillProgress started = service.progress("bench-observed");
			return started != null && started.rowsDone() > 0;
		});
		// Each turn: a window without meters (into bucket 0 or 2, alternately: comparing
		// the two shows the noise floor), one at the default rates (bucket 1) and one at
		// the amplified rates (bucket 3), in an order drawn anew each turn, so that
		// nothing periodic in the background (the backfill's VACUUMs) falls on one kind
		// more than another. Each window's p99 is also kept, to compare windows of one
		// turn, which see the same background.
		List<Latencies> offWindows = new ArrayList<>();
		List<Latencies> onWindows = new ArrayList<>();
		List<Latencies> amplifiedWindows = new ArrayList<>();
		java.util.Random order = new java.util.Random(42);
		for (int window = 0; window < windows; window++) {
			int offBucket = (window % 2 == 0) ? 0 : 2;
			List<Integer> modes = new ArrayList<>(List.of(0, 1, 2));
			java.util.Collections.shuffle(modes, order);
			for (int mode : modes) {
				workload.record(-1);
				observing.set(mode);
				Thread.sleep(200);
				switch (mode) {
					case 0 -> offWindows.add(workload.window(offBucket, WINDOW));
					case 1 -> onWindows.add(workload.window(1, WINDOW));
					default -> amplifiedWindows.add(workload.window(3, WINDOW));
				}
			}
		}
		workload.record(-1);
		BackfillProgress done = service.progress("bench-observed");
		sampling.set(false);
		sampler.interrupt();
		sampler.join();
		controller.stop();
		workload.stop();
		Latencies offEven = workload.latencies(0);
		Latencies offOdd = workload.latencies(2);
		Latencies off = offEven.merge(offOdd);
		Latencies on = workload.latencies(1);
		Latencies amplified = workload.latencies(3);
		double floor = offEven.percentile(99) / offOdd.percentile(99);
		double onRatio = on.percentile(99) / off.percentile(99);
		double amplifiedRatio = amplified.percentile(99) / off.percentile(99);
		System.out.println();
		System.out.println("zdm meters and lock sampler cost, workload on " + rows + " rows (" + WORKLOAD_THREADS
				+ " x " + OPERATIONS_PER_SECOND_PER_THREAD + " ops/s, 1:1 read/write) while a backfill runs at default "
				+ "pacing, PostgreSQL " + this.jdbc.queryForObject("SHOW server_version", String.class));
		System.out.printf("%-52s %14s %14s %14s%n", "", "meters off", "default rates", amplification + "x the rates");
		System.out.printf("%-52s %14s %14s %14s%n", "  in windows taking turns",
				windows + " x " + WINDOW.toSeconds() + " s", windows + " x " + WINDOW.toSeconds() + " s",
				windows + " x " + WINDOW.toSeconds() + " s");
		System.out.printf("%-52s %14d %14d %14d%n", "operations", off.count(), on.count(), amplified.count());
		for (int percentile : new int[] { 50, 99 }) {
			System.out.printf("%-52s %14.3f %14.3f %14.3f%n", "p" + percentile + " latency (ms)",
					off.percentile(percentile), on.percentile(percentile), amplified.percentile(percentile));
			System.out.printf("%-52s %14s %13.3fx %13.3fx%n", "  ratio to meters off", "",
					on.percentile(percentile) / off.percentile(percentile),
					amplified.percentile(percentile) / off.percentile(percentile));
		}
		System.out.printf("%-52s %14.3f %14.3f %14.3f%n", "max latency (ms)", off.max(), on.max(), amplified.max());
		System.out.printf("%-52s %13.3fx%n", "noise floor: p99 of even / odd windows off", floor);
		List<Double> pairs = new ArrayList<>();
		List<Double> amplifiedPairs = new ArrayList<>();
		List<Double> offPairs = new ArrayList<>();
		for (int i = 0; i < windows; i++) {
			pairs.add(onWindows.get(i).percentile(99) / offWindows.get(i).percentile(99));
			amplifiedPairs.add(amplifiedWindows.get(i).percentile(99) / offWindows.get(i).percentile(99));
			if (i > 0) {
				offPairs.add(offWindows.get(i).percentile(99) / offWindows.get(i - 1).percentile(99));
			}
		}
		System.out.printf("%-52s %14s %13.3fx %13.3fx%n", "p99, median of each window / the turn's off window", "",
				median(pairs), median(amplifiedPairs));
		System.out.printf("%-52s %13.3fx%n", "  noise floor: off window / the turn's before", median(offPairs));
		// the amplified windows cost the default rates' cost times the amplification
		// (the meters' recording per batch is not amplified: it is measured below)
		double perDefault = (amplifiedRatio - 1) / amplification;
		System.out.printf("%-52s %14s %+13.2f%%%n", "p99 cost at the default rates, from the amplified", "",
				perDefault * 100);
		System.out.printf("%-52s %14s %14.1f%n", "meters: CPU microseconds per batch recorded", "",
				listenerNanos.get() / 1e3 / Math.max(1, listenerCalls.get()));
		System.out.printf("%-52s %14s %14.2f%n", "samplers: wall milliseconds per sampling (5 queries)", "",
				samplerNanos.get() / 1e6 / Math.max(1, samplerCalls.get()));
		System.out.printf("%-52s %14s %14d%n", "rows backfilled by the end of the windows", "", done.rowsDone());
		System.out.printf("%-52s %14s %14s%n", "backfill still copying after the last window", "",
				(done.copiedAt() == null) ? "yes" : "no");
		System.out.printf("%-52s %14s %14.0f%n", "batches recorded by zdm.backfill.batch.duration", "",
				(double) registry.get("zdm.backfill.batch.duration").tag("kind", "copy").timer().count());
		System.out.println();
	}

	private static long cpuNanos() {
		return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
	}

	private void measureUpdate(String table, List<Double> rates, List<Long> growths) {
		JdbcTemplate statements = warmStatements();
		long sizeBefore = tableSize(table);
		long start = System.nanoTime();
		statements.update("UPDATE " + table + " SET email_address = lower(email)");
		rates.add(ROWS / ((System.nanoTime() - start) / 1e9));
		growths.add(tableSize(table) - sizeBefore);
	}

	private void measureBackfill(BackfillService service, int round, String table, List<Double> rates,
			List<Long> growths, List<Double> verifySeconds) {
		String id = "bench-off-" + round;
		long sizeBefore = tableSize(table);
		PhaseController controller = start(id, migration(id, table, BackfillSettings.defaults().withoutPacing()),
				warmRunners());
		await().atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
			BackfillProgress progress = service.progress(id);
			return progress != null && progress.state() == BackfillState.VERIFIED;
		});
		controller.stop();
		BackfillProgress progress = service.progress(id);
		rates.add(ROWS / (Duration.between(progress.startedAt(), progress.copiedAt()).toNanos() / 1e9));
		growths.add(tableSize(table) - sizeBefore);
		verifySeconds
			.add(Duration.between(progress.verification().startedAt(), progress.verification().finishedAt()).toNanos()
					/ 1e9);
	}

	private static BackfillSettings pacedSettings() {
		BackfillSettings defaults = BackfillSettings.defaults();
		boolean noLoadChecks = Boolean.getBoolean("zdm.benchmark.no-load-checks");
		return defaults.toBuilder()
			.targetBatchDuration(Duration
				.ofMillis(Long.getLong("zdm.benchmark.paced-target", defaults.targetBatchDuration().toMillis())))
			.pause(Duration.ofMillis(Long.getLong("zdm.benchmark.paced-pause", defaults.pause().toMillis())))
			.maxLockWaiters(noLoadChecks ? Integer.MAX_VALUE : defaults.maxLockWaiters())
			.maxTransactionAge(noLoadChecks ? Duration.ZERO : defaults.maxTransactionAge())
			.vacuumEveryRows(Long.getLong("zdm.benchmark.paced-vacuum", defaults.vacuumEveryRows()))
			.verificationBatchSize(
					Integer.getInteger("zdm.benchmark.verification-batch", defaults.verificationBatchSize()))
			.verificationPause(Duration
				.ofMillis(Long.getLong("zdm.benchmark.verification-pause", defaults.verificationPause().toMillis())))
			.build();
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

		private final List<List<long[]>> samples = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
				new ArrayList<>());

		private final AtomicBoolean idle = new AtomicBoolean();

		private final List<int[]> counts = new ArrayList<>();

		private final int rows;

		Workload(String table) {
			this(table, WORKLOAD_ROWS);
		}

		Workload(String table, int rows) {
			this.table = table;
			this.rows = rows;
		}

		void start() {
			start(WINDOWS);
		}

		void start(int windows) {
			int capacity = (int) (windows * WINDOW.toSeconds() * OPERATIONS_PER_SECOND_PER_THREAD * 2 + 1000);
			for (int i = 0; i < WORKLOAD_THREADS; i++) {
				long[][] buckets = new long[this.samples.size()][];
				for (int bucket = 0; bucket < buckets.length; bucket++) {
					buckets[bucket] = new long[capacity];
					this.samples.get(bucket).add(buckets[bucket]);
				}
				int[] count = new int[buckets.length];
				this.counts.add(count);
				Thread thread = new Thread(() -> run(buckets, count));
				thread.start();
				this.threads.add(thread);
			}
		}

		void record(int bucket) {
			this.bucket.set(bucket);
		}

		/**
		 * Record into a bucket for a while, and return what was recorded then.
		 */
		Latencies window(int bucket, Duration length) throws InterruptedException {
			int[] from = this.counts.stream().mapToInt((count) -> count[bucket]).toArray();
			record(bucket);
			Thread.sleep(length.toMillis());
			record(-1);
			// operations that finished just before the switch are still being recorded
			Thread.sleep(20);
			List<Long> window = new ArrayList<>();
			for (int i = 0; i < this.counts.size(); i++) {
				long[] samples = this.samples.get(bucket).get(i);
				for (int j = from[i]; j < this.counts.get(i)[bucket]; j++) {
					window.add(samples[j] & ~READ_FLAG);
				}
			}
			return new Latencies(window.stream().mapToLong(Long::longValue).sorted().toArray());
		}

		/**
		 * Stop sending operations for a while (or start again), as for a measurement
		 * without the workload.
		 */
		void idle(boolean idle) {
			this.idle.set(idle);
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
			return new Latencies(
					Arrays.stream(all).filter(filter).map((latency) -> latency & ~READ_FLAG).sorted().toArray());
		}

		private void run(long[][] latencies, int[] counts) {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			long interval = 1_000_000_000L / OPERATIONS_PER_SECOND_PER_THREAD;
			try (Connection connection = postgres.database().newConnection();
					PreparedStatement read = connection
						.prepareStatement("SELECT * FROM " + this.table + " WHERE id = ?");
					PreparedStatement write = connection.prepareStatement(
							"UPDATE " + this.table + " SET email = ?, email_address = lower(?) WHERE id = ?")) {
				long next = System.nanoTime();
				while (this.running.get()) {
					if (this.idle.get()) {
						Thread.sleep(5);
						next = System.nanoTime();
						continue;
					}
					long id = random.nextLong(1, this.rows + 1);
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
		return BackfillFixtures.migration(id, table, Phase.BACKFILL, settings);
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		return start(instance, migration, postgres.newDataSource(instance, 4));
	}

	private PhaseController start(String instance, MigrationDefinition migration, DataSource dataSource) {
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "benchmark", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(dataSource, TestFleet.SETTINGS.timeout(), List.of())));
		controller.start();
		return controller;
	}

	/**
	 * Warm the pools the measured copies use. A server process maps the shared buffers'
	 * memory page by page as it first touches them: on this machine a new connection
	 * copying 1,000,000 rows spends about a third of its time on those page faults
	 * (32,000 of them, 128 MB), and a connection that has done so once does not again. An
	 * application's pool keeps its connections for hours, so the runners are measured on
	 * warmed connections, and so are the statements they are compared with.
	 */
	private void warmPools() throws SQLException {
		this.runners = warmPool("bench-runners", 4);
		this.statements = new JdbcTemplate(warmPool("bench-statements", 1));
	}

	private DataSource warmRunners() {
		Assert.state(this.runners != null, "warmPools() first");
		return this.runners;
	}

	private JdbcTemplate warmStatements() {
		Assert.state(this.statements != null, "warmPools() first");
		return this.statements;
	}

	/**
	 * A pool whose every connection has written more pages than the shared buffers hold
	 * (into a table it then rolls back), so that each has touched all of their memory.
	 */
	private DataSource warmPool(String name, int size) throws SQLException {
		HikariDataSource pool = postgres.newDataSource(name, size);
		// kept for the whole test: never retired for idleness or age
		pool.getHikariConfigMXBean().setMinimumIdle(size);
		pool.getHikariConfigMXBean().setMaxLifetime(0);
		Long buffers = this.jdbc
			.queryForObject("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'", Long.class);
		long rows = (long) ((buffers != null ? buffers : 0) / 1000 * 1.25);
		List<Connection> held = new ArrayList<>();
		try {
			for (int i = 0; i < size; i++) {
				held.add(pool.getConnection());
			}
			for (Connection connection : held) {
				connection.setAutoCommit(false);
				try (Statement statement = connection.createStatement()) {
					statement.execute("CREATE TABLE bench_warm (filler text)");
					statement.executeUpdate(
							"INSERT INTO bench_warm SELECT repeat('x', 900) FROM generate_series(1, " + rows + ")");
				}
				connection.rollback();
				connection.setAutoCommit(true);
			}
		}
		finally {
			for (Connection connection : held) {
				connection.close();
			}
		}
		return pool;
	}

	private static String mb(double bytes) {
		return String.format("%.1f MB", bytes / 1024.0 / 1024.0);
	}

	private record Latencies(long[] sorted) {

		Latencies merge(Latencies other) {
			long[] all = Arrays.copyOf(this.sorted, this.sorted.length + other.sorted.length);
			System.arraycopy(other.sorted, 0, all, this.sorted.length, other.sorted.length);
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
