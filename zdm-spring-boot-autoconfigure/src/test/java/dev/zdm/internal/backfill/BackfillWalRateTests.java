package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.util.unit.DataSize;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.metrics.BackfillMetrics;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static dev.zdm.testing.BackfillFixtures.rowsDone;
import static dev.zdm.testing.BackfillFixtures.throttlePauses;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that a copy holds back while the database writes more WAL per second than
 * {@code max-wal-rate} allows, and goes on once it writes less or once the ceiling is
 * removed live, against a real PostgreSQL under inserts, updates and deletes. Isolated:
 * the rate is the whole server's, which other test classes would add to.
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class BackfillWalRateTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String ID = "wal-rate";

	private static final int ROWS = 15_000;

	private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

	private final List<PhaseController> controllers = new ArrayList<>();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	@AfterEach
	void stop() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void copyHoldsBackWhileAnotherSessionWritesWalOverTheCeilingAndGoesOnOnceItStops(CapturedOutput output)
			throws Exception {
		LiveWorkload.create(postgres, "wal_orders", false, ROWS);
		// paced by its settings and the WAL ceiling only; at 1,000 rows/s the copy itself
		// writes a few hundred kB of WAL a second, well under the ceiling
		MigrationDefinition migration = migration(ID, "wal_orders",
				slowCopy().maxWalRate(DataSize.ofMegabytes(4).toBytes()).build());
		PhaseController controller = start("wal-a", migration).controller();
		LiveWorkload workload = new LiveWorkload(postgres, "wal_orders", false, ROWS,
				() -> controller.status(ID).effective(), 200);
		workload.start(2);
		Ballast ballast = new Ballast();
		try {
			await().atMost(Duration.ofSeconds(30)).until(() -> rowsDone(this.service, ID) > 2_500);
			assertThat(throttlePauses(this.meters, ID, ThrottleReason.WAL_RATE))
				.as("the copy alone stays under the ceiling")
				.isZero();

			ballast.start();
			await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
				BackfillProgress progress = this.service.progress(ID);
				assertThat(progress.state()).isEqualTo(BackfillState.THROTTLED);
				assertThat(progress.throttleReason()).startsWith("the database writes ")
					.endsWith("/s of WAL, at most 4.0 MB/s (max-wal-rate)");
				assertThat(throttlePauses(this.meters, ID, ThrottleReason.WAL_RATE)).isGreaterThanOrEqualTo(1);
			});
			long held = rowsDone(this.service, ID);
			assertThat(output).contains("backfill holds back: the database writes ");
			assertThat(ballast.bytes.get()).as("the other session's WAL").isGreaterThan(4L * 1024 * 1024);

			ballast.stop();
			await().atMost(Duration.ofSeconds(30)).until(() -> rowsDone(this.service, ID) > held + 500);
			assertThat(output).contains("backfill goes on");
			assertThat(heldBackSeconds(ThrottleReason.WAL_RATE)).isPositive();
			await().atMost(Duration.ofSeconds(120))
				.until(() -> this.service.progress(ID).state() == BackfillState.VERIFIED);
			workload.stopAndAssertNoWriteLost();
			assertThat(LiveWorkload.disagreeing(postgres, "wal_orders", false)).isZero();
		}
		finally {
			ballast.stop();
			workload.stop();
		}
	}

	@Test
	void copyHeldBackByAWalRateCeilingSetLiveGoesOnOnceTheCeilingIsRemovedLive(CapturedOutput output) throws Exception {
		String id = "wal-tuned";
		LiveWorkload.create(postgres, "tuned_wal_orders", false, ROWS);
		// declared without a WAL rate ceiling, paced by its settings only
		MigrationDefinition migration = migration(id, "tuned_wal_orders", slowCopy().build());
		Instance a = start("wal-tuned-a", migration);
		LiveWorkload workload = new LiveWorkload(postgres, "tuned_wal_orders", false, ROWS,
				() -> a.controller().status(id).effective(), 200);
		workload.start(2);
		Ballast ballast = new Ballast();
		BackfillOverrideRepository overrides = new BackfillOverrideRepository(postgres.dataSource());
		try {
			// the other session writes WAL fast, and without a ceiling the copy goes on
			ballast.start();
			await().atMost(Duration.ofSeconds(30)).until(() -> rowsDone(this.service, id) > 1_500);
			assertThat(throttlePauses(this.meters, id, ThrottleReason.WAL_RATE)).as("no ceiling declared").isZero();

			// a ceiling set live, as the endpoint stores it, holds the running copy back
			overrides.change(id, walRate(DataSize.ofMegabytes(4)), action("set a ceiling"));
			await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
				BackfillProgress progress = this.service.progress(id);
				assertThat(progress.state()).isEqualTo(BackfillState.THROTTLED);
				assertThat(progress.throttleReason()).startsWith("the database writes ")
					.endsWith("/s of WAL, at most 4.0 MB/s (max-wal-rate)");
			});
			assertThat(output).contains("backfill settings overridden live: maxWalRate=4MB by alice on test");
			// it stays held back while the other session writes; another instance has
			// the ceiling too
			Instance b = start("wal-tuned-b", migration);
			b.heartbeats().awaitHeartbeats(2);
			a.heartbeats().awaitHeartbeats(2);
			assertThat(b.participant().settings(migration).maxWalRate()).isEqualTo(DataSize.ofMegabytes(4).toBytes());
			assertThat(this.service.progress(id).state()).isEqualTo(BackfillState.THROTTLED);
			long held = rowsDone(this.service, id);
			long ballastAtRemoval = ballast.bytes.get();

			// the ceiling removed live: the copy goes on while the other session still
			// writes as fast as before
			overrides.change(id, walRate(DataSize.ofBytes(0)), action("remove the ceiling"));
			await().atMost(Duration.ofSeconds(30)).until(() -> rowsDone(this.service, id) > held + 500);
			assertThat(ballast.bytes.get()).as("the other session's WAL since the ceiling went")
				.isGreaterThan(ballastAtRemoval + 4L * 1024 * 1024);
			assertThat(output).contains("backfill settings overridden live: maxWalRate=0B by alice on test");
			assertThat(output).contains("migration '" + id + "': backfill goes on");
			ballast.stop();
			await().atMost(Duration.ofSeconds(120))
				.until(() -> this.service.progress(id).state() == BackfillState.VERIFIED);
			workload.stopAndAssertNoWriteLost();
			assertThat(LiveWorkload.disagreeing(postgres, "tuned_wal_orders", false)).isZero();
		}
		finally {
			ballast.stop();
			workload.stop();
		}
	}

	private static BackfillOverrides walRate(DataSize maxWalRate) {
		return new BackfillOverrides(null, null, null, null, null, null, null, null, null, null, null, maxWalRate);
	}

	private static OperatorAction action(String reason) {
		return new OperatorAction(BackfillOverrides.CHANGE_ACTION, "alice", "test", reason, Instant.now());
	}

	private Instance start(String instance, MigrationDefinition migration) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		BackfillParticipant backfill = TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of(),
				BackfillListener.of(List.of(new BackfillMetrics(this.meters))));
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of(backfill, heartbeats));
		controller.start();
		this.controllers.add(controller);
		return new Instance(controller, backfill, heartbeats);
	}

	private record Instance(PhaseController controller, BackfillParticipant participant, HeartbeatCounter heartbeats) {

	}

	private double heldBackSeconds(ThrottleReason reason) {
		return this.meters.get("zdm.backfill.throttle.time")
			.tags("migration", ID, "reason", reason.value())
			.counter()
			.count();
	}

	/**
	 * Another session that writes WAL as fast as it can: inserts of wide rows that
	 * PostgreSQL stores as they are (each under the size at which it compresses a value),
	 * the table emptied now and then so that it does not grow.
	 */
	private static final class Ballast {

		private static final int ROW_BYTES = 1600;

		private static final int ROWS_PER_INSERT = 1000;

		final AtomicLong bytes = new AtomicLong();

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final AtomicReference<Throwable> failure = new AtomicReference<>();

		private Thread thread;

		void start() {
			this.thread = new Thread(() -> {
				try (Connection connection = postgres.database().newConnection();
						Statement statement = connection.createStatement()) {
					statement.execute("CREATE TABLE IF NOT EXISTS wal_ballast (id bigint, payload text)");
					int inserts = 0;
					while (this.running.get()) {
						statement.executeUpdate("INSERT INTO wal_ballast SELECT i, repeat(md5(random()::text), "
								+ (ROW_BYTES / 32) + ") FROM generate_series(1, " + ROWS_PER_INSERT + ") AS i");
						this.bytes.addAndGet((long) ROW_BYTES * ROWS_PER_INSERT);
						if (++inserts % 20 == 0) {
							statement.execute("TRUNCATE wal_ballast");
						}
					}
				}
				catch (SQLException ex) {
					this.failure.set(ex);
				}
			}, "wal-ballast");
			this.thread.start();
		}

		void stop() throws InterruptedException {
			this.running.set(false);
			if (this.thread != null) {
				this.thread.join();
				this.thread = null;
			}
			assertThat(this.failure.get()).isNull();
		}

	}

	/**
	 * A copy paced by its settings only: 100-row batches, at most 1,000 rows/s, no pacing
	 * by impact and no vacuums.
	 */
	private static BackfillSettings.Builder slowCopy() {
		return BackfillFixtures.settings(100, 100, 100, Duration.ofMillis(20))
			.toBuilder()
			.maxLatencyIncrease(Double.POSITIVE_INFINITY)
			.maxRowsPerSecond(1_000)
			.vacuumEveryRows(0);
	}

	private static MigrationDefinition migration(String id, String table, BackfillSettings settings) {
		return MigrationDefinition.builder(id)
			.requestedPhase(Phase.BACKFILL)
			.table(table)
			.up("street_new", "street")
			.up("city_new", "upper(city)")
			.backfill(settings)
			.build();
	}

}
