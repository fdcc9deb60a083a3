package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.internal.locks.ReplicationLagInspector.Replica;
import dev.zdm.internal.locks.ReplicationLagInspector.ReplicationLag;
import dev.zdm.metrics.BackfillMetrics;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.observation.BackfillObservations;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the backfill's meters, observations and health details against a real
 * PostgreSQL, while the application inserts, updates and deletes rows.
 */
class BackfillObservabilityTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

	private final TestObservationRegistry observations = TestObservationRegistry.create();

	private final List<PhaseController> controllers = new ArrayList<>();

	// Micrometer holds a gauge's object weakly: the binders must outlive the test's
	// reads.
	private final List<ZdmMetrics> metrics = new ArrayList<>();

	private final List<Writers> writers = new ArrayList<>();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	private @Nullable ZdmHealthIndicator health;

	@AfterEach
	void stop() throws Exception {
		for (Writers running : this.writers) {
			running.stop();
		}
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void metersAndSpansMoveDuringTheCopyAndTheVerificationWhileTheApplicationWrites() throws Exception {
		createUsers("observed_users", 10_000);
		Writers writes = writers("observed_users", 10_000);
		start("observed-a", BackfillFixtures.migration("observed", "observed_users", Phase.BACKFILL,
				BackfillFixtures.settings(200, 100, 400, Duration.ofMillis(10))), null);
		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
			BackfillProgress progress = this.service.progress("observed");
			assertThat(progress).isNotNull();
			assertThat(progress.copiedAt()).as("still copying").isNull();
			assertThat(counter("zdm.backfill.rows.copied", "observed")).isPositive();
			assertThat(gauge("zdm.backfill.rows.done", "observed")).isPositive();
			double remaining = gauge("zdm.backfill.rows.remaining", "observed");
			double rate = gauge("zdm.backfill.rate", "observed");
			assertThat(remaining).isPositive();
			assertThat(rate).isPositive();
			// the estimate is the rows left at the rate so far, as of the same batch
			// (stored to the millisecond)
			assertThat(this.meters.get("zdm.backfill.eta").tag("migration", "observed").timeGauge().value())
				.isCloseTo(remaining / rate, within(0.002));
			assertThat(this.meters.get("zdm.backfill.state")
				.tags("migration", "observed", "state", "running")
				.gauge()
				.value()).isEqualTo(1);
		});
		assertThat(this.meters.get("zdm.backfill.batch.duration")
			.tags("migration", "observed", "kind", "copy")
			.timer()
			.count()).isPositive();
		assertThat(this.meters.get("zdm.backfill.batch.size")
			.tags("migration", "observed", "kind", "copy")
			.summary()
			.mean()).isBetween(100.0, 400.0);
		assertThat(counter("zdm.backfill.rows.updated", "observed")).isPositive();
		long writesAtCopy = writes.count();
		awaitVerified("observed");
		assertThat(writes.count()).as("writes during the backfill").isGreaterThan(writesAtCopy);
		assertThat(counter("zdm.backfill.rows.verified", "observed")).isGreaterThan(7_000);
		assertThat(counter("zdm.backfill.verification.passes", "observed")).isPositive();
		// the verification is marked before its result is recorded and counted
		await().atMost(Duration.ofSeconds(30))
			.untilAsserted(() -> assertThat(this.meters.get("zdm.backfill.verifications")
				.tags("migration", "observed", "result", "succeeded")
				.counter()
				.count()).isEqualTo(1));
		assertThat(this.meters.get("zdm.backfill.batch.duration")
			.tags("migration", "observed", "kind", "verify")
			.timer()
			.count()).isPositive();
		await().atMost(Duration.ofSeconds(30))
			.untilAsserted(() -> assertThat(this.meters.get("zdm.backfill.state")
				.tags("migration", "observed", "state", "verified")
				.gauge()
				.value()).isEqualTo(1));

		// rows changed behind the backfill's back are found and repaired by a
		// verification the operator asks for
		int corrupted = this.jdbc
			.update("UPDATE observed_users SET email_address = 'behind its back' WHERE id % 97 = 0");
		assertThat(corrupted).isPositive();
		this.service.verify("observed");
		await().atMost(Duration.ofSeconds(30))
			.until(() -> this.meters.get("zdm.backfill.verifications")
				.tags("migration", "observed", "result", "succeeded")
				.counter()
				.count() == 2);
		assertThat(counter("zdm.backfill.rows.disagreeing", "observed")).isPositive();
		assertThat(counter("zdm.backfill.rows.repaired", "observed")).isPositive();
		writes.stop();
		assertThat(disagreeing("observed_users")).isZero();

		TestObservationRegistryAssert.assertThat(this.observations)
			.hasObservationWithNameEqualTo(BackfillObservations.BATCH)
			.that()
			.hasLowCardinalityKeyValue("migration", "observed")
			.hasLowCardinalityKeyValue("kind", "copy")
			.hasBeenStarted()
			.hasBeenStopped();
		TestObservationRegistryAssert.assertThat(this.observations)
			.hasObservationWithNameEqualTo(BackfillObservations.VERIFICATION_PASS)
			.that()
			.hasLowCardinalityKeyValue("migration", "observed")
			.hasBeenStopped();
		TestObservationRegistryAssert.assertThat(this.observations)
			.hasAnObservation((observation) -> observation.hasNameEqualTo(BackfillObservations.BATCH)
				.hasLowCardinalityKeyValue("kind", "verify")
				.doesNotHaveError())
			.hasHandledContextsThatSatisfy((contexts) -> assertThat(contexts)
				.allSatisfy((context) -> assertThat(context.getHighCardinalityKeyValues()).isEmpty()));
	}

	@Test
	void throttleMetersCountPausesAndTimeHeldBackByReason() throws Exception {
		createUsers("throttled_users", 30_000);
		Writers writes = writers("throttled_users", 30_000);
		BackfillSettings settings = BackfillSettings.builder()
			.batchSizes(100, 100, 100)
			.targetBatchDuration(Duration.ofMillis(50))
			.pause(Duration.ofMillis(20))
			.lockTimeout(Duration.ofMillis(500))
			.statementTimeout(Duration.ofSeconds(5))
			.maxLockWaiters(1)
			.maxTransactionAge(Duration.ofSeconds(1))
			.throttleCheckInterval(Duration.ofMillis(100))
			.vacuumEveryRows(0)
			.maxReplicationLag(Duration.ofSeconds(5))
			.build();
		SimulatedReplicationLag lag = new SimulatedReplicationLag(postgres.dataSource());
		start("throttled-a", BackfillFixtures.migration("throttled", "throttled_users", Phase.BACKFILL, settings), lag);
		await().atMost(Duration.ofSeconds(30)).until(() -> rowsDone("throttled") > 500);

		// an open transaction older than the bound
		try (Connection old = postgres.database().newConnection()) {
			old.setAutoCommit(false);
			try (Statement statement = old.createStatement()) {
				statement.execute("SELECT 1");
			}
			awaitHeldBack("throttled", ThrottleReason.OLD_TRANSACTION, "has been open for");
			old.commit();
		}

		// sessions queued for a lock on the table
		try (Connection holder = postgres.database().newConnection();
				Connection waiter1 = postgres.database().newConnection();
				Connection waiter2 = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("LOCK TABLE throttled_users IN SHARE MODE");
			}
			Thread first = waitOnLock(waiter1, "throttled_users", 1);
			Thread second = waitOnLock(waiter2, "throttled_users", 2);
			awaitHeldBack("throttled", ThrottleReason.LOCK_WAITERS, "sessions wait for a lock");
			holder.rollback();
			first.join();
			second.join();
		}

		// a streaming replica that replays later than the bound; the query on
		// pg_stat_replication runs each time
		int readsBefore = lag.reads.get();
		lag.lag.set(Duration.ofSeconds(30));
		awaitHeldBack("throttled", ThrottleReason.REPLICATION_LAG, "replica 'simulated-standby'");
		assertThat(lag.reads.get()).isGreaterThan(readsBefore);
		assertThat(lag.lastReal.get().readable()).isTrue();
		lag.lag.set(Duration.ZERO);

		// an operator's pause
		await().atMost(Duration.ofSeconds(30))
			.until(() -> this.service.progress("throttled").state() == BackfillState.RUNNING);
		this.service.pause("throttled");
		// from the moment it is asked, before the runner has seen it
		assertThat(this.service.progress("throttled").eta()).isNull();
		await().atMost(Duration.ofSeconds(30))
			.until(() -> this.meters.get("zdm.backfill.throttle.pauses")
				.tags("migration", "throttled", "reason", "operator")
				.counter()
				.count() >= 1);
		await().atMost(Duration.ofSeconds(30))
			.untilAsserted(() -> assertThat(gauge("zdm.backfill.paused", "throttled")).isEqualTo(1));
		// the health contributor says it once
		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
			@SuppressWarnings("unchecked")
			Map<String, Object> details = (Map<String, Object>) this.health.health(true).getDetails().get("throttled");
			assertThat(details).containsEntry("backfill", "paused");
		});
		// a paused copy estimates no time left, rather than the one it had when it ran
		assertThat(this.service.progress("throttled").eta()).isNull();
		assertThat(this.meters.get("zdm.backfill.eta").tag("migration", "throttled").timeGauge().value()).isNaN();
		this.service.resume("throttled");
		awaitVerified("throttled");
		writes.stop();
		assertThat(disagreeing("throttled_users")).isZero();
		assertThat(pauses("throttled", ThrottleReason.TIME_WINDOW)).isZero();
		assertThat(pauses("throttled", ThrottleReason.CUSTOM)).isZero();
	}

	@Test
	void batchesThatTimeOutOnARowLockCountAsErrorsAndRetries() throws Exception {
		createUsers("contended_users", 5_000);
		Writers writes = writers("contended_users", 5_000);
		try (Connection holder = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("SELECT * FROM contended_users WHERE id = 1 FOR UPDATE");
			}
			start("contended-a", BackfillFixtures.migration("contended", "contended_users", Phase.BACKFILL,
					BackfillFixtures.settings(200, 100, 400, Duration.ZERO)), null);
			await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
				assertThat(this.meters.get("zdm.backfill.errors")
					.tags("migration", "contended", "stage", "batch")
					.counter()
					.count()).isGreaterThanOrEqualTo(2);
				assertThat(counter("zdm.backfill.batch.retries", "contended")).isGreaterThanOrEqualTo(2);
				// what holds the copy back is shown where an operator looks first
				assertThat(this.service.progress("contended").throttleReason())
					.startsWith("row-lock: a batch waits for a row another session holds locked; likely held by [pid ");
			});
			// and in the health, as a throttled copy's reason is (a fault run read only
			// "running" there for the minute a row lock held the copy)
			await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
				@SuppressWarnings("unchecked")
				Map<String, Object> details = (Map<String, Object>) this.health.health(true)
					.getDetails()
					.get("contended");
				assertThat((String) details.get("backfill"))
					.startsWith("running: row-lock: a batch waits for a row another session holds locked");
			});
			TestObservationRegistryAssert.assertThat(this.observations)
				.hasHandledContextsThatSatisfy((contexts) -> assertThat(contexts).anySatisfy(
						(context) -> assertThat(context.getError()).isNotNull().hasMessageContaining("lock timeout")));
			holder.rollback();
		}
		awaitVerified("contended");
		writes.stop();
		assertThat(disagreeing("contended_users")).isZero();
	}

	@Test
	void runThatFailsOnAnErrorRetryingCannotMendIsCountedAndRetriedLater() throws Exception {
		createUsers("refused_users", 3_000);
		Writers writes = writers("refused_users", 3_000);
		this.jdbc
			.execute("ALTER TABLE refused_users ADD CONSTRAINT refused CHECK (email_address <> 'user1@example.com')");
		start("refused-a", BackfillFixtures.migration("refused", "refused_users", Phase.BACKFILL,
				BackfillFixtures.settings(200, 100, 400, Duration.ZERO)), null);
		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
			assertThat(this.meters.get("zdm.backfill.errors")
				.tags("migration", "refused", "stage", "run")
				.counter()
				.count()).isGreaterThanOrEqualTo(2);
			assertThat(this.meters.get("zdm.backfill.errors")
				.tags("migration", "refused", "stage", "batch")
				.counter()
				.count()).isGreaterThanOrEqualTo(2);
		});
		assertThat(counter("zdm.backfill.batch.retries", "refused")).as("a check violation is not retried").isZero();
		TestObservationRegistryAssert.assertThat(this.observations)
			.hasHandledContextsThatSatisfy((contexts) -> assertThat(contexts)
				.anySatisfy((context) -> assertThat(context.getError()).isNotNull().hasMessageContaining("refused")));
		this.jdbc.execute("ALTER TABLE refused_users DROP CONSTRAINT refused");
		awaitVerified("refused");
		writes.stop();
		assertThat(disagreeing("refused_users")).isZero();
	}

	@Test
	void failedVerificationIsCountedAndShownInTheHealthDetailsWhileTheInstanceStaysUp() throws Exception {
		createUsers("failing_users", 5_000);
		Writers writes = writers("failing_users", 5_000);
		MigrationDefinition migration = BackfillFixtures.migration("failing", "failing_users", Phase.READ_NEW,
				BackfillFixtures.settings(500, 100, 2000, Duration.ZERO));
		PhaseController controller = start("failing-a", migration, null);
		await().atMost(Duration.ofSeconds(30)).until(() -> controller.effectivePhase("failing") == Phase.READ_NEW);
		// the new column is now the source of truth: a verification only reports rows
		// that disagree
		int corrupted = this.jdbc.update("UPDATE failing_users SET email_address = 'not derived' WHERE id % 89 = 0");
		assertThat(corrupted).isPositive();
		this.service.verify("failing");
		await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
			assertThat(this.meters.get("zdm.backfill.verifications")
				.tags("migration", "failing", "result", "failed")
				.counter()
				.count()).isEqualTo(1);
			assertThat(this.meters.get("zdm.backfill.errors")
				.tags("migration", "failing", "stage", "verification")
				.counter()
				.count()).isEqualTo(1);
			Health health = this.health.health(true);
			assertThat(health.getStatus()).isEqualTo(Status.UP);
			@SuppressWarnings("unchecked")
			Map<String, Object> details = (Map<String, Object>) health.getDetails().get("failing");
			assertThat(details).containsEntry("phase", "read-new").containsEntry("backfill", "failed");
			assertThat(details.get("problems")).asString()
				.contains("backfill verification failed")
				.contains("rows disagreed after 1 passes");
		});
		writes.stop();
	}

	private void awaitHeldBack(String id, ThrottleReason reason, String description) {
		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
			BackfillProgress progress = this.service.progress(id);
			assertThat(progress.state()).isEqualTo(BackfillState.THROTTLED);
			assertThat(progress.throttleReason()).contains(description);
			assertThat(pauses(id, reason)).isGreaterThanOrEqualTo(1);
			assertThat(this.meters.get("zdm.backfill.throttle.time")
				.tags("migration", id, "reason", reason.value())
				.counter()
				.count()).as("seconds held back").isGreaterThan(0.3);
		});
		// the health contributor says why, as the endpoint does
		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
			@SuppressWarnings("unchecked")
			Map<String, Object> details = (Map<String, Object>) this.health.health(true).getDetails().get(id);
			assertThat((String) details.get("backfill")).startsWith("throttled: ").contains(description);
		});
		long held = rowsDone(id);
		assertThat(this.service.progress(id).state()).isEqualTo(BackfillState.THROTTLED);
		assertThat(rowsDone(id)).isEqualTo(held);
	}

	private double pauses(String id, ThrottleReason reason) {
		return this.meters.get("zdm.backfill.throttle.pauses")
			.tags("migration", id, "reason", reason.value())
			.counter()
			.count();
	}

	private double counter(String name, String id) {
		return this.meters.get(name).tag("migration", id).counter().count();
	}

	private double gauge(String name, String id) {
		return this.meters.get(name).tag("migration", id).gauge().value();
	}

	private PhaseController start(String instance, MigrationDefinition migration,
			@Nullable ReplicationLagInspector replicationLag) {
		DataSource dataSource = postgres.newDataSource(instance, 6);
		BackfillParticipant backfill = new BackfillParticipant(dataSource, new FleetRegistry(dataSource),
				new MigrationStateRepository(dataSource), new LockInspector(dataSource),
				(replicationLag != null) ? replicationLag : new ReplicationLagInspector(dataSource),
				TestFleet.SETTINGS.timeout(), List.of(),
				BackfillListener
					.of(List.of(new BackfillMetrics(this.meters), new BackfillObservations(this.observations))),
				null, BackfillEnvironment.DEFAULT_MAX_CONCURRENT_BACKFILLS, Set.of(), null);
		BackfillProgressSampler progress = new BackfillProgressSampler(new JdbcBackfillService(dataSource));
		LockFiguresSampler locks = new LockFiguresSampler(new LockInspector(dataSource));
		HeldBackTracker heldBack = new HeldBackTracker();
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS,
				List.of(backfill, progress, locks, heldBack));
		controller.start();
		this.controllers.add(controller);
		new ZdmMetrics(controller, locks, progress, null, heldBack).bindTo(this.meters);
		this.health = new ZdmHealthIndicator(controller, null, progress, null, heldBack, null, null,
				ZdmHealthIndicator.Thresholds.DEFAULTS);
		return controller;
	}

	private Writers writers(String table, int rows) throws InterruptedException {
		Writers started = new Writers(table, rows);
		this.writers.add(started);
		await().atMost(Duration.ofSeconds(30)).until(() -> started.count() > 50);
		return started;
	}

	private void awaitVerified(String id) {
		await().atMost(Duration.ofSeconds(120))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> Boolean.TRUE.equals(this.jdbc.queryForObject(
					"SELECT verified_at IS NOT NULL FROM zdm_migration WHERE migration_id = ?", Boolean.class, id)));
	}

	private long rowsDone(String id) {
		BackfillProgress progress = this.service.progress(id);
		return (progress != null) ? progress.rowsDone() : 0;
	}

	private long disagreeing(String table) {
		return this.jdbc.queryForObject(
				"SELECT count(*) FROM " + table + " WHERE email_address IS DISTINCT FROM lower(email)", Long.class);
	}

	private void createUsers(String table, int rows) {
		this.jdbc
			.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
		this.jdbc.update("INSERT INTO " + table
				+ " (id, email) SELECT i, 'User' || i || '@Example.COM' FROM generate_series(1, ?) AS i", rows);
		this.jdbc.execute("ANALYZE " + table);
	}

	private static Thread waitOnLock(Connection connection, String table, long id) {
		Thread thread = new Thread(() -> {
			try (Statement statement = connection.createStatement()) {
				statement.executeUpdate("UPDATE " + table + " SET email = email WHERE id = " + id);
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
		});
		thread.start();
		return thread;
	}

	/**
	 * Replication lag as {@code pg_stat_replication} shows it, the query run every time,
	 * plus a simulated standby whose lag the test sets: the embedded server has no
	 * replica.
	 */
	static final class SimulatedReplicationLag extends ReplicationLagInspector {

		final AtomicReference<Duration> lag = new AtomicReference<>(Duration.ZERO);

		final AtomicInteger reads = new AtomicInteger();

		final AtomicReference<ReplicationLag> lastReal = new AtomicReference<>();

		SimulatedReplicationLag(DataSource dataSource) {
			super(dataSource);
		}

		@Override
		public ReplicationLag replicationLag() {
			ReplicationLag real = super.replicationLag();
			this.lastReal.set(real);
			this.reads.incrementAndGet();
			List<Replica> replicas = new ArrayList<>(real.replicas());
			Duration simulated = this.lag.get();
			if (!simulated.isZero()) {
				replicas.add(new Replica("simulated-standby", "192.0.2.7", "streaming", simulated));
			}
			return new ReplicationLag(real.readable(), replicas);
		}

	}

	/**
	 * Two sessions that insert, update and delete rows of a table, keeping the new column
	 * derived from the old one as the application's dual-write would.
	 */
	static final class Writers {

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final AtomicLong count = new AtomicLong();

		private final AtomicReference<Throwable> failure = new AtomicReference<>();

		private final List<Thread> threads = new ArrayList<>();

		Writers(String table, int rows) {
			for (int i = 0; i < 2; i++) {
				int owner = i;
				Thread thread = new Thread(() -> write(table, rows, owner), "writer-" + table + "-" + i);
				thread.setDaemon(true);
				thread.start();
				this.threads.add(thread);
			}
		}

		long count() {
			return this.count.get();
		}

		void stop() throws InterruptedException {
			if (this.running.getAndSet(false)) {
				for (Thread thread : this.threads) {
					thread.join(TimeUnit.SECONDS.toMillis(30));
				}
				assertThat(this.failure.get()).isNull();
			}
		}

		private void write(String table, int rows, int owner) {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			long nextInsert = 10_000_000L + owner;
			try (Connection connection = postgres.database().newConnection();
					PreparedStatement update = connection
						.prepareStatement("UPDATE " + table + " SET email = ?, email_address = lower(?) WHERE id = ?");
					PreparedStatement delete = connection.prepareStatement("DELETE FROM " + table + " WHERE id = ?");
					PreparedStatement insert = connection.prepareStatement("INSERT INTO " + table
							+ " (id, email, email_address) VALUES (?, ?, lower(?)) ON CONFLICT DO NOTHING")) {
				while (this.running.get()) {
					int choice = random.nextInt(100);
					// never row 1, which tests lock
					long id = random.nextLong(1, rows / 2) * 2 + owner;
					String email = "User" + id + "-" + random.nextInt(1_000_000) + "@Example.COM";
					if (choice < 70) {
						update.setString(1, email);
						update.setString(2, email);
						update.setLong(3, id);
						update.executeUpdate();
					}
					else if (choice < 80) {
						delete.setLong(1, id);
						delete.executeUpdate();
					}
					else {
						insert.setLong(1, (choice < 90) ? id : nextInsert);
						insert.setString(2, email);
						insert.setString(3, email);
						insert.executeUpdate();
						nextInsert += 2;
					}
					this.count.incrementAndGet();
					Thread.sleep(2);
				}
			}
			catch (Throwable ex) {
				this.failure.set(ex);
			}
		}

	}

}
