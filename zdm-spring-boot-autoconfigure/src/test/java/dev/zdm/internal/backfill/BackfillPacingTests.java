package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.backfill.BackfillListener.BatchKind;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.metrics.MicrometerApplicationLatency;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static dev.zdm.testing.BackfillFixtures.migration;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the copy's pacing by what the workload feels, its rows per second ceiling and
 * the fleet's cap on backfills at once, against a real PostgreSQL with real concurrent
 * sessions. They assert on rates and on the signals the pacing reports, not on how long
 * anything takes.
 */
@Isolated
class BackfillPacingTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	private final List<PhaseController> controllers = new ArrayList<>();

	private final List<BatchStart> batches = new CopyOnWriteArrayList<>();

	private final Map<ThrottleReason, Long> heldBackNanos = new ConcurrentHashMap<>();

	private final BackfillListener listener = new BackfillListener() {

		@Override
		public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
			long start = System.nanoTime();
			return new Batch() {

				@Override
				public void copied(long rows, long updated) {
					BackfillPacingTests.this.batches
						.add(new BatchStart(migration.id(), kind, start, System.nanoTime(), rows));
				}

				@Override
				public void verified(long rows, long disagreeing, long repaired) {
					BackfillPacingTests.this.batches
						.add(new BatchStart(migration.id(), kind, start, System.nanoTime(), rows));
				}

			};
		}

		@Override
		public void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
			BackfillPacingTests.this.heldBackNanos.merge(reason, duration.toNanos(), Long::sum);
		}

	};

	@AfterEach
	void stop() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void copyBacksOffWhileTheApplicationFeelsItAndSpeedsUpOnceItIsGone() throws Exception {
		createUsers("paced", 400_000);
		SimpleMeterRegistry meters = new SimpleMeterRegistry();
		try (HikariDataSource application = applicationPool(meters)) {
			AtomicBoolean running = new AtomicBoolean(true);
			AtomicReference<Throwable> failure = new AtomicReference<>();
			List<Thread> workload = startWorkload(application, "paced", 400_000, 4, running, failure);
			BackfillSettings settings = BackfillSettings.builder()
				.throttleCheckInterval(Duration.ofMillis(200))
				.vacuumEveryRows(0)
				.build();
			start("pacer", List.of(migration("paced", "paced", Phase.BACKFILL, settings)), 2,
					new MicrometerApplicationLatency(meters, new OwnPoolCalls()));
			// the application's updates wait for the rows a batch holds: their mean
			// latency rises with the batches, and the copy must back off for it
			await().atMost(Duration.ofSeconds(60))
				.until(() -> this.heldBackNanos.getOrDefault(ThrottleReason.APPLICATION_LATENCY, 0L) > 0);
			// and say so where an operator looks
			await().atMost(Duration.ofSeconds(60)).until(() -> pacedBy("paced", "application-latency: "));
			int batchesWithWorkload = this.batches.size();
			await().atMost(Duration.ofSeconds(60)).until(() -> this.batches.size() >= batchesWithWorkload + 20);
			List<BatchStart> backingOff = List.copyOf(this.batches.subList(batchesWithWorkload, this.batches.size()));
			running.set(false);
			for (Thread thread : workload) {
				thread.join();
			}
			assertThat(failure.get()).isNull();
			// the copy reads the workload gone once the other sessions' busy share has
			// decayed (the sampler's last few seconds of checks); from then on nothing
			// holds it back, and its batches show the pace it takes alone
			await().atMost(Duration.ofSeconds(60)).until(() -> {
				BackfillProgress progress = this.service.progress("paced");
				return progress.copiedAt() != null || progress.throttleReason() == null;
			});
			int batchesWithout = this.batches.size();
			awaitVerified("paced");
			List<BatchStart> without = this.batches.subList(batchesWithout, this.batches.size())
				.stream()
				.filter((batch) -> batch.kind() == BatchKind.COPY)
				.toList();
			assertThat(this.service.progress("paced").verification()).isNotNull();
			assertThat(without).hasSizeGreaterThan(2);
			double slow = rate(backingOff);
			double fast = rate(without);
			assertThat(fast).as("rows/s without the workload (%.0f) against while backing off (%.0f)", fast, slow)
				.isGreaterThan(2 * slow);
			assertThat(maxRows(without)).isGreaterThan(4 * minRows(backingOff));
		}
	}

	@Test
	void copyStaysUnderItsRowsPerSecondCeiling() {
		createUsers("ceiling", 12_000);
		// the first batch would be more than a second's worth of rows, and so would the
		// smallest batch
		BackfillSettings settings = BackfillSettings.builder()
			.batchSizes(5_000, 4_000, 50_000)
			.maxRowsPerSecond(3_000)
			.vacuumEveryRows(0)
			.build();
		start("ceiling", List.of(migration("ceiling", "ceiling", Phase.BACKFILL, settings)), 2, null);
		awaitVerified("ceiling");
		List<BatchStart> copies = this.batches.stream().filter((batch) -> batch.kind() == BatchKind.COPY).toList();
		assertThat(copies).hasSizeGreaterThan(3);
		assertThat(copies).as("no batch larger than a second's worth of rows")
			.allSatisfy((batch) -> assertThat(batch.rows()).isLessThanOrEqualTo(3_000));
		long first = copies.get(0).startNanos();
		long rowsBefore = 0;
		for (BatchStart batch : copies) {
			if (batch.startNanos() > first) {
				double rate = rowsBefore * 1e9 / (batch.startNanos() - first);
				assertThat(rate).as("rows/s before a batch").isLessThanOrEqualTo(3_000 * 1.05);
			}
			rowsBefore += batch.rows();
		}
		assertThat(this.heldBackNanos.getOrDefault(ThrottleReason.ROWS_PER_SECOND, 0L)).isPositive();
	}

	@Test
	void twoMigrationsShareTheFleetsCapOnBackfillsAtOnce() {
		createUsers("first_table", 6_000);
		createUsers("second_table", 6_000);
		BackfillSettings settings = queueing(Duration.ofMillis(100)).maxRowsPerSecond(4_000).build();
		MigrationDefinition first = migration("first", "first_table", Phase.BACKFILL, settings);
		MigrationDefinition second = migration("second", "second_table", Phase.BACKFILL, settings);
		start("capped", List.of(first, second), 1, null);
		// one of them waits in the queue, naming the one that holds the slot
		await().atMost(Duration.ofSeconds(30))
			.until(() -> queuedBehind("first", "second") || queuedBehind("second", "first"));
		// held by the database's limit, which the setting raises
		String queued = this.jdbc.queryForObject("SELECT string_agg(throttle_reason, '; ') FROM zdm_backfill "
				+ "WHERE throttle_reason LIKE 'queued behind%'", String.class);
		assertThat(queued).contains("at most 1 at once on the database: zdm.fleet.max-concurrent-backfills")
			.doesNotContain(BackfillHoldBack.ONE_PER_TABLE);
		awaitVerified("first");
		awaitVerified("second");
		long firstStart = startOf("first");
		long firstEnd = endOf("first");
		long secondStart = startOf("second");
		long secondEnd = endOf("second");
		assertThat(firstEnd < secondStart || secondEnd < firstStart).as("the two backfills' batches never interleave")
			.isTrue();
		assertThat(this.heldBackNanos.getOrDefault(ThrottleReason.CONCURRENCY, 0L)).isPositive();
	}

	@Test
	void aBackfillThatStartedKeepsItsTurnOnTheTableWhenItsRunnerStops() {
		this.jdbc.execute("CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, email_address text, "
				+ "email_upper text)");
		this.jdbc.update("INSERT INTO customers (id, email) SELECT i, 'User' || i || '@Example.COM' "
				+ "FROM generate_series(1, ?) AS i", 40_000);
		this.jdbc.execute("ANALYZE customers");
		BackfillSettings emailSettings = queueing(Duration.ofMillis(100)).maxRowsPerSecond(4_000).build();
		MigrationDefinition email = migration("customers-email", "customers", Phase.BACKFILL, emailSettings);
		// the queued one looks at the queue far more often than an instance
		// heartbeats: asking first must not be what gives the turn
		MigrationDefinition address = MigrationDefinition.builder("customers-address")
			.requestedPhase(Phase.BACKFILL)
			.table("customers")
			.up("email_upper", "upper(email)")
			.backfill(queueing(Duration.ofMillis(10)).build())
			.build();
		start("first", List.of(email), 2, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> BackfillFixtures.rowsDone(this.service, email.id()) > 0);
		start("second", List.of(email, address), 2, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> queuedBehind(address.id(), email.id()));
		// held by the table's limit, which no setting changes, not by the database's
		assertThat(this.service.progress(address.id()).throttleReason())
			.contains(BackfillHoldBack.ONE_PER_TABLE + "public.customers")
			.doesNotContain("max-concurrent-backfills");
		// a rolling restart stops the email's runner gracefully, mid-copy
		PhaseController first = this.controllers.remove(0);
		first.stop();
		assertThat(this.service.progress(email.id()).copiedAt()).isNull();
		awaitVerified(email.id());
		awaitVerified(address.id());
		long emailCopied = this.batches.stream()
			.filter((batch) -> batch.migration().equals(email.id()) && batch.kind() == BatchKind.COPY)
			.mapToLong(BatchStart::endNanos)
			.max()
			.orElseThrow();
		assertThat(startOf(address.id())).as("the queued backfill's first batch comes after the started one's copy")
			.isGreaterThan(emailCopied);
	}

	@Test
	void aBackfillThatIsVerifyingKeepsItsTurnOnTheTableWhenItsRunnerStops() {
		// the turn is held for the whole run, copy and verification: a runner restarted
		// in the verification gave the table to a backfill that had not started, and the
		// verified one waited for its whole copy
		this.jdbc.execute("CREATE TABLE verifying (id bigint PRIMARY KEY, email text NOT NULL, email_address text, "
				+ "email_upper text)");
		this.jdbc.update("INSERT INTO verifying (id, email) SELECT i, 'User' || i || '@Example.COM' "
				+ "FROM generate_series(1, ?) AS i", 20_000);
		this.jdbc.execute("ANALYZE verifying");
		BackfillSettings emailSettings = queueing(Duration.ofMillis(100)).verificationBatchSize(500)
			.verificationPause(Duration.ofMillis(100))
			.build();
		MigrationDefinition email = migration("verifying-email", "verifying", Phase.BACKFILL, emailSettings);
		MigrationDefinition upper = MigrationDefinition.builder("verifying-upper")
			.requestedPhase(Phase.BACKFILL)
			.table("verifying")
			.up("email_upper", "upper(email)")
			.backfill(queueing(Duration.ofMillis(10)).build())
			.build();
		start("first", List.of(email), 2, null);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> this.service.progress(email.id()).state() == BackfillState.VERIFYING);
		start("second", List.of(email, upper), 2, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> queuedBehind(upper.id(), email.id()));
		// a rolling restart stops the email's runner gracefully, mid-verification
		PhaseController first = this.controllers.remove(0);
		first.stop();
		assertThat(this.service.progress(email.id()).state()).isNotEqualTo(BackfillState.VERIFIED);
		awaitVerified(email.id());
		awaitVerified(upper.id());
		long emailVerified = this.batches.stream()
			.filter((batch) -> batch.migration().equals(email.id()) && batch.kind() == BatchKind.VERIFY)
			.mapToLong(BatchStart::endNanos)
			.max()
			.orElseThrow();
		assertThat(startOf(upper.id()))
			.as("the queued backfill's first batch comes after the started one's verification")
			.isGreaterThan(emailVerified);
	}

	// an operator's run: a backfill paused, the other taking the table, the paused one
	// resumed and queued behind it; the runner of the copy was killed, and the resumed
	// one took the table back, by when it had first started, the copy stalled meanwhile
	@Test
	void aBackfillPausedAndResumedStaysBehindTheOneThatTookItsTurnWhenThatOnesRunnerStops() {
		this.jdbc.execute("CREATE TABLE turns (id bigint PRIMARY KEY, email text NOT NULL, email_address text, "
				+ "email_upper text)");
		this.jdbc.update("INSERT INTO turns (id, email) SELECT i, 'User' || i || '@Example.COM' "
				+ "FROM generate_series(1, ?) AS i", 30_000);
		this.jdbc.execute("ANALYZE turns");
		BackfillSettings slow = queueing(Duration.ofMillis(10)).maxRowsPerSecond(5_000).build();
		MigrationDefinition paused = migration("turns-email", "turns", Phase.BACKFILL, slow);
		MigrationDefinition taker = MigrationDefinition.builder("turns-upper")
			.requestedPhase(Phase.BACKFILL)
			.table("turns")
			.up("email_upper", "upper(email)")
			.backfill(slow)
			.build();
		start("turns-a", List.of(paused), 2, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> BackfillFixtures.rowsDone(this.service, paused.id()) > 0);
		start("turns-b", List.of(taker), 2, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> queuedBehind(taker.id(), paused.id()));
		this.service.pause(paused.id());
		await().atMost(Duration.ofSeconds(30)).until(() -> BackfillFixtures.rowsDone(this.service, taker.id()) > 0);
		this.service.resume(paused.id());
		await().atMost(Duration.ofSeconds(30)).until(() -> queuedBehind(paused.id(), taker.id()));
		// the instances that run both from now on, as a fleet declaring both: the first
		// one leaves, then the taker's runner stops mid-copy
		this.controllers.remove(0).stop();
		start("turns-c", List.of(paused, taker), 2, null);
		this.controllers.remove(0).stop();
		long stopped = System.nanoTime();
		assertThat(this.service.progress(taker.id()).copiedAt()).isNull();
		awaitVerified(taker.id());
		awaitVerified(paused.id());
		long takerCopied = this.batches.stream()
			.filter((batch) -> batch.migration().equals(taker.id()) && batch.kind() == BatchKind.COPY)
			.mapToLong(BatchStart::endNanos)
			.max()
			.orElseThrow();
		long pausedAgain = this.batches.stream()
			.filter((batch) -> batch.migration().equals(paused.id()) && batch.startNanos() > stopped)
			.mapToLong(BatchStart::startNanos)
			.min()
			.orElseThrow();
		assertThat(pausedAgain).as("the resumed backfill copies again only after the one that took its turn")
			.isGreaterThan(takerCopied);
	}

	@Test
	void aBackfillWaitingInTheQueueShowsNoEta() {
		createUsers("copied_table", 40_000);
		createUsers("queued_table", 40_000);
		BackfillSettings slow = queueing(Duration.ofMillis(10)).maxRowsPerSecond(4_000).build();
		MigrationDefinition copied = migration("copied", "copied_table", Phase.BACKFILL, slow);
		MigrationDefinition queued = migration("queued", "queued_table", Phase.BACKFILL, slow);
		// one backfill at once on the database: the copied one starts and has an ETA
		start("first", List.of(copied), 1, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> this.service.progress(copied.id()).eta() != null);
		start("second", List.of(queued), 1, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> queuedBehind(queued.id(), copied.id()));
		// its instance stops; the other backfill takes the database's slot, and the
		// copied one, run again by a third instance, waits in the queue behind it
		this.controllers.remove(0).stop();
		await().atMost(Duration.ofSeconds(30)).until(() -> this.service.progress(queued.id()).rowsDone() > 0);
		start("third", List.of(copied), 1, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> queuedBehind(copied.id(), queued.id()));
		BackfillProgress waiting = this.service.progress(copied.id());
		assertThat(waiting.copiedAt()).isNull();
		assertThat(waiting.eta()).as("no time left to estimate while it waits").isNull();
	}

	/**
	 * Settings of the queue's tests: batches from 500 rows, the queue looked at every
	 * given interval, no VACUUM.
	 */
	private static BackfillSettings.Builder queueing(Duration throttleCheckInterval) {
		return BackfillSettings.builder()
			.batchSizes(500, 100, 50_000)
			.throttleCheckInterval(throttleCheckInterval)
			.vacuumEveryRows(0);
	}

	private boolean pacedBy(String id, String prefix) {
		String reason = this.service.progress(id).throttleReason();
		return reason != null && reason.startsWith(prefix);
	}

	private boolean queuedBehind(String waiting, String holder) {
		BackfillProgress progress = this.service.progress(waiting);
		return progress != null && progress.state() == BackfillState.THROTTLED && progress.throttleReason() != null
				&& progress.throttleReason().startsWith(BackfillHoldBack.QUEUED + " the backfills of [" + holder + "]");
	}

	private long startOf(String migration) {
		return this.batches.stream()
			.filter((batch) -> batch.migration().equals(migration))
			.mapToLong(BatchStart::startNanos)
			.min()
			.orElseThrow();
	}

	private long endOf(String migration) {
		return this.batches.stream()
			.filter((batch) -> batch.migration().equals(migration))
			.mapToLong(BatchStart::endNanos)
			.max()
			.orElseThrow();
	}

	private static double rate(List<BatchStart> batches) {
		long rows = batches.stream().mapToLong(BatchStart::rows).sum();
		long nanos = batches.get(batches.size() - 1).endNanos() - batches.get(0).startNanos();
		return rows * 1e9 / nanos;
	}

	private static long maxRows(List<BatchStart> batches) {
		return batches.stream().mapToLong(BatchStart::rows).max().orElseThrow();
	}

	private static long minRows(List<BatchStart> batches) {
		return batches.stream().mapToLong(BatchStart::rows).min().orElseThrow();
	}

	/**
	 * A pool of the application's own, whose acquire and usage times go to a meter
	 * registry as HikariCP records them.
	 */
	private static HikariDataSource applicationPool(SimpleMeterRegistry meters) {
		HikariConfig config = postgres.database().newPoolConfig("application", 4);
		config.setMetricRegistry(meters);
		return new HikariDataSource(config);
	}

	/**
	 * Start sessions that update random rows of the table through the application's pool
	 * until told to stop.
	 */
	private static List<Thread> startWorkload(DataSource application, String table, int rows, int sessions,
			AtomicBoolean running, AtomicReference<Throwable> failure) {
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < sessions; i++) {
			Thread thread = new Thread(() -> {
				while (running.get()) {
					try (Connection connection = application.getConnection();
							PreparedStatement update = connection
								.prepareStatement("UPDATE " + table + " SET email = email WHERE id = ?")) {
						update.setLong(1, ThreadLocalRandom.current().nextLong(1, rows + 1));
						update.executeUpdate();
					}
					catch (Exception ex) {
						failure.compareAndSet(null, ex);
						return;
					}
				}
			}, "application-" + i);
			thread.start();
			threads.add(thread);
		}
		return threads;
	}

	private void createUsers(String table, int rows) {
		this.jdbc
			.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
		this.jdbc.update("INSERT INTO " + table
				+ " (id, email) SELECT i, 'User' || i || '@Example.COM' FROM generate_series(1, ?) AS i", rows);
		this.jdbc.execute("ANALYZE " + table);
	}

	private void start(String instance, List<MigrationDefinition> migrations, int maxConcurrent,
			@Nullable ApplicationLatency applicationLatency) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		BackfillParticipant backfill = TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, this.listener,
				applicationLatency, maxConcurrent, Set.of(), List.of());
		PhaseController controller = TestEngine.phaseController(dataSource, migrations,
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of(backfill));
		controller.start();
		this.controllers.add(controller);
	}

	private void awaitVerified(String id) {
		await().atMost(Duration.ofSeconds(120))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> Boolean.TRUE.equals(this.jdbc.queryForObject(
					"SELECT verified_at IS NOT NULL FROM zdm_migration WHERE migration_id = ?", Boolean.class, id)));
	}

	private record BatchStart(String migration, BatchKind kind, long startNanos, long endNanos, long rows) {

	}

}
