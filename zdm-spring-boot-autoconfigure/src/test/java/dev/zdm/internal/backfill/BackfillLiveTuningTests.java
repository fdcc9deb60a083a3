package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that settings of a running backfill changed live (stored overrides, as the
 * endpoint stores them) reach the runner within one heartbeat, reach the other instances
 * too and outlive the runner, against a real PostgreSQL under inserts, updates and
 * deletes.
 */
class BackfillLiveTuningTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String ID = "tuned";

	private static final int ROWS = 30_000;

	private final List<PhaseController> controllers = new ArrayList<>();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	private final BackfillOverrideRepository overrides = new BackfillOverrideRepository(postgres.dataSource());

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void liveChangeOfBatchBoundsAndPauseReachesTheRunnerWithinOneHeartbeatAndOutlivesIt() throws Exception {
		LiveWorkload.create(postgres, "tuned_orders", false, ROWS);
		// paced by its settings only, so that batch sizes and pauses are exactly those
		// declared or overridden
		BackfillSettings declared = pacedBySettingsOnly(100, 100, 100, Duration.ofMillis(20));
		MigrationDefinition migration = MigrationDefinition.builder(ID)
			.requestedPhase(Phase.BACKFILL)
			.table("tuned_orders")
			.up("street_new", "street")
			.up("city_new", "upper(city)")
			.backfill(declared)
			.build();
		Instance a = start("tuned-a", migration);
		AtomicReference<PhaseController> current = new AtomicReference<>(a.controller);
		LiveWorkload workload = new LiveWorkload(postgres, "tuned_orders", false, ROWS,
				() -> current.get().status(ID).effective(), 300);
		workload.start(2);
		try {
			await().atMost(Duration.ofSeconds(30)).until(() -> a.pace.seen(100, Duration.ofMillis(20)));
			Instance b = start("tuned-b", migration);
			b.heartbeats.awaitHeartbeats(2);
			assertThat(this.service.progress(ID).runner()).isEqualTo("tuned-a");

			// a live change while a runs: the heartbeat after it (the one in progress
			// may have read before) hands it to the run, so that every batch starting
			// and every pause decided once the instance counted it uses it; b, not
			// running, reads it as well
			long readBy = a.heartbeats.heartbeats() + 2;
			long readByB = b.heartbeats.heartbeats() + 2;
			change(new BackfillOverrides(250, 250, 250, null, Duration.ofMillis(150), null, null, null, null, null,
					null, null));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> a.pace.batchSizesFrom(readBy).size() >= 3 && a.pace.pacesFrom(readBy).size() >= 3);
			assertThat(a.pace.batchSizesFrom(readBy)).containsOnly(250);
			assertThat(a.pace.pacesFrom(readBy)).containsOnly(new Pace(250, Duration.ofMillis(150)));
			// b reads it at its own heartbeats, which a's batches say nothing of
			await().atMost(Duration.ofSeconds(30)).until(() -> b.heartbeats.heartbeats() >= readByB);
			assertThat(b.participant.settings(migration).maxBatchSize()).isEqualTo(250);
			assertThat(b.participant.settings(migration).pause()).isEqualTo(Duration.ofMillis(150));
			assertThat(this.service.progress(ID).copiedAt()).as("copy still running").isNull();

			// the runner dies: its session is killed and the instance goes; b takes over
			// with the overrides, not its declared settings
			Integer runnerPid = postgres.jdbc()
				.queryForObject("SELECT runner_pid FROM zdm_backfill WHERE migration_id = ?", Integer.class, ID);
			postgres.jdbc().queryForObject("SELECT pg_terminate_backend(?)", Boolean.class, runnerPid);
			a.controller.stop();
			current.set(b.controller);
			await().atMost(Duration.ofSeconds(30)).until(() -> "tuned-b".equals(this.service.progress(ID).runner()));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> b.pace.batchSizesFrom(0).size() >= 3 && b.pace.pacesFrom(0).size() >= 3);
			assertThat(b.pace.batchSizesFrom(0)).as("b's batches, all with the overrides").containsOnly(250);
			assertThat(b.pace.pacesFrom(0)).containsOnly(new Pace(250, Duration.ofMillis(150)));

			// a second change, on the runner that took over
			long readAgainBy = b.heartbeats.heartbeats() + 2;
			change(new BackfillOverrides(null, 400, 400, null, Duration.ofMillis(5), null, null, null, null, null, null,
					null));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> b.pace.batchSizesFrom(readAgainBy).size() >= 3
						&& b.pace.pacesFrom(readAgainBy).size() >= 3);
			assertThat(b.pace.batchSizesFrom(readAgainBy)).containsOnly(400);
			assertThat(b.pace.pacesFrom(readAgainBy)).containsOnly(new Pace(400, Duration.ofMillis(5)));

			await().atMost(Duration.ofSeconds(60))
				.until(() -> this.service.progress(ID).state() == BackfillState.VERIFIED);
			workload.stopAndAssertNoWriteLost();
			assertThat(LiveWorkload.disagreeing(postgres, "tuned_orders", false)).isZero();
			BackfillProgress progress = this.service.progress(ID);
			assertThat(progress.verification().succeeded()).isTrue();
		}
		finally {
			workload.stop();
		}
	}

	@Test
	void liveRowsPerSecondCeilingHoldsTheNextBatchToASecondsWorthOfRows() throws Exception {
		LiveWorkload.create(postgres, "ceiled_orders", false, ROWS);
		// paced by its settings only, batches of up to 2000 rows; the long pause after
		// the first batch is where the change arrives, and ends
		BackfillSettings declared = pacedBySettingsOnly(2_000, 100, 2_000, Duration.ofSeconds(30));
		MigrationDefinition migration = MigrationDefinition.builder("ceiled")
			.requestedPhase(Phase.BACKFILL)
			.table("ceiled_orders")
			.up("street_new", "street")
			.up("city_new", "upper(city)")
			.backfill(declared)
			.build();
		Instance a = start("ceiled-a", migration);
		LiveWorkload workload = new LiveWorkload(postgres, "ceiled_orders", false, ROWS,
				() -> a.controller.status("ceiled").effective(), 300);
		workload.start(2);
		try {
			await().atMost(Duration.ofSeconds(30)).until(() -> !a.pace.pacesFrom(0).isEmpty());
			assertThat(a.pace.pacesFrom(0).get(0).pause()).isEqualTo(Duration.ofSeconds(30));
			List<Integer> before = a.pace.batchSizesFrom(0);
			assertThat(before).last().isEqualTo(2_000);
			// the operator holds the running copy to 300 rows/s instead of a fixed pause
			change("ceiled", new BackfillOverrides(null, null, null, null, Duration.ZERO, 300L, null, null, null, null,
					null, null));
			await().atMost(Duration.ofSeconds(60)).until(() -> a.pace.batchSizesFrom(0).size() >= before.size() + 4);
			List<Integer> after = a.pace.batchSizesFrom(0).subList(before.size(), a.pace.batchSizesFrom(0).size());
			// the first batch after the change is a second's worth of rows, not the size
			// the copy had reached (2000 rows: almost 7 s of the ceiling at once), and so
			// is every batch while the ceiling holds
			assertThat(after.get(0)).isEqualTo(300);
			assertThat(after).allSatisfy((size) -> assertThat(size).isLessThanOrEqualTo(300));
			assertThat(this.service.progress("ceiled").copiedAt()).as("copy still running").isNull();
			// lifted: the copy goes on at its own pace to the end
			change("ceiled",
					new BackfillOverrides(null, null, null, null, null, 0L, null, null, null, null, null, null));
			await().atMost(Duration.ofSeconds(90))
				.until(() -> this.service.progress("ceiled").state() == BackfillState.VERIFIED);
			workload.stopAndAssertNoWriteLost();
			assertThat(LiveWorkload.disagreeing(postgres, "ceiled_orders", false)).isZero();
		}
		finally {
			workload.stop();
		}
	}

	@Test
	@ExtendWith(OutputCaptureExtension.class)
	void liveChangeDuringTheVerificationSaysItPacesTheCopyNotThePass(CapturedOutput output) {
		LiveWorkload.create(postgres, "checked_orders", false, 20_000);
		// a verification of about 40 batches, 150 ms apart
		BackfillSettings declared = pacedBySettingsOnly(5_000, 100, 20_000, Duration.ZERO).withVerification(500,
				Duration.ofMillis(150));
		MigrationDefinition migration = MigrationDefinition.builder("checked")
			.requestedPhase(Phase.BACKFILL)
			.table("checked_orders")
			.up("street_new", "street")
			.up("city_new", "upper(city)")
			.backfill(declared)
			.build();
		start("checked-a", migration);
		await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
			BackfillProgress progress = this.service.progress("checked");
			return progress != null && progress.verifying() != null;
		});
		change("checked",
				new BackfillOverrides(null, null, null, null, null, 1_000L, null, null, null, null, null, null));
		// an operator read "they apply from the next verification batch" and saw the pass
		// run at 100,000 rows/s under a ceiling of 1,000 rows/s, which paces the copy
		// only
		await().atMost(Duration.ofSeconds(30))
			.until(() -> output.getOut().contains("migration 'checked': backfill settings overridden live"));
		assertThat(output.getOut())
			.contains("they pace the copy, not this verification pass (its batches follow "
					+ "verification-batch-size and verification-pause)")
			.doesNotContain("they apply from the next verification batch");
		await().atMost(Duration.ofSeconds(60))
			.until(() -> this.service.progress("checked").state() == BackfillState.VERIFIED);
	}

	/**
	 * Settings the copy follows exactly: no latency budget to pace by, no VACUUM.
	 */
	private static BackfillSettings pacedBySettingsOnly(int initial, int min, int max, Duration pause) {
		return BackfillFixtures.settings(initial, min, max, pause)
			.toBuilder()
			.maxLatencyIncrease(Double.POSITIVE_INFINITY)
			.vacuumEveryRows(0)
			.build();
	}

	@Test
	void declarationClearsTheOverridesOncePerDistinctDeclarationNotAtEachStart() {
		postgres.jdbc().execute("CREATE TABLE declared_orders (id bigint PRIMARY KEY, email text, email_address text)");
		BackfillSettings declared = BackfillFixtures.settings(100, 100, 1000, Duration.ofMillis(20));
		MigrationDefinition migration = BackfillFixtures.migration("declared", "declared_orders", Phase.DUAL_WRITE,
				declared);
		new ZdmSchema(postgres.dataSource()).migrate();
		new MigrationStateRepository(postgres.dataSource()).register("declared");
		this.overrides.save("declared", overrides(2000), action("alice"));
		// the first instance of a deploy whose declaration says so clears them
		Instance a = start("declared-a", migration, true);
		a.heartbeats.awaitHeartbeats(1);
		assertThat(this.overrides.find("declared").overrides().isEmpty()).isTrue();
		assertThat(this.overrides.find("declared").setBy()).isEqualTo(BackfillOverrides.DECLARATION);
		assertThat(actions("declared")).containsExactly("declaration backfill.tuning.clear");
		// an operator tunes again; the other instances of the same deploy, and restarts
		// of it, leave that in place
		this.overrides.save("declared", overrides(3000), action("bob"));
		Instance b = start("declared-b", migration, true);
		b.heartbeats.awaitHeartbeats(2);
		a.controller.stop();
		Instance again = start("declared-a2", migration, true);
		again.heartbeats.awaitHeartbeats(2);
		assertThat(this.overrides.find("declared").overrides()).isEqualTo(overrides(3000));
		assertThat(this.overrides.find("declared").setBy()).isEqualTo("bob");
		// a deploy declaring other settings clears them again, once
		MigrationDefinition redeclared = BackfillFixtures.migration("declared", "declared_orders", Phase.DUAL_WRITE,
				declared.toBuilder().pause(Duration.ofMillis(10)).build());
		Instance c = start("declared-c", redeclared, true);
		c.heartbeats.awaitHeartbeats(1);
		assertThat(this.overrides.find("declared").overrides().isEmpty()).isTrue();
		assertThat(actions("declared")).containsExactly("declaration backfill.tuning.clear",
				"declaration backfill.tuning.clear");
		// without the property, a declaration never clears them
		this.overrides.save("declared", overrides(4000), action("carol"));
		MigrationDefinition other = BackfillFixtures.migration("declared", "declared_orders", Phase.DUAL_WRITE,
				declared.toBuilder().pause(Duration.ofMillis(5)).build());
		start("declared-d", other, false).heartbeats.awaitHeartbeats(2);
		assertThat(this.overrides.find("declared").overrides()).isEqualTo(overrides(4000));
	}

	private static BackfillOverrides overrides(int maxBatchSize) {
		return new BackfillOverrides(null, null, maxBatchSize, null, null, null, null, null, null, null, null, null);
	}

	private static OperatorAction action(String principal) {
		return new OperatorAction(BackfillOverrides.CHANGE_ACTION, principal, "test", null, Instant.now());
	}

	private static List<String> actions(String migrationId) {
		return postgres.jdbc()
			.queryForList("SELECT principal || ' ' || action FROM zdm_operator_action WHERE migration_id = ? "
					+ "ORDER BY action_id", String.class, migrationId);
	}

	private void change(BackfillOverrides change) {
		change(ID, change);
	}

	private void change(String id, BackfillOverrides change) {
		this.overrides.change(id, change,
				new OperatorAction(BackfillOverrides.CHANGE_ACTION, "alice", "test", "faster", Instant.now()));
	}

	private Instance start(String instanceId, MigrationDefinition migration) {
		return start(instanceId, migration, false);
	}

	private Instance start(String instanceId, MigrationDefinition migration, boolean clearOverrides) {
		DataSource dataSource = postgres.newDataSource(instanceId, 4);
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		PaceRecorder pace = new PaceRecorder(heartbeats);
		BackfillParticipant participant = TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, pace, null,
				BackfillEnvironment.DEFAULT_MAX_CONCURRENT_BACKFILLS,
				clearOverrides ? Set.of(migration.id()) : Set.of(), List.of());
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instanceId, "test", "1"), TestFleet.SETTINGS,
				List.of(participant, heartbeats));
		controller.start();
		this.controllers.add(controller);
		return new Instance(controller, participant, heartbeats, pace);
	}

	private record Instance(PhaseController controller, BackfillParticipant participant, HeartbeatCounter heartbeats,
			PaceRecorder pace) {

	}

	/**
	 * The size and pause the runner decided after a copy batch.
	 */
	private record Pace(int batchSize, Duration pause) {

	}

	/**
	 * Records each copy batch's size and each pace the runs of an instance decide, with
	 * the heartbeats the instance had counted then.
	 */
	private static final class PaceRecorder implements BackfillListener {

		private final HeartbeatCounter heartbeats;

		private final Queue<Object[]> batches = new ConcurrentLinkedQueue<>();

		private final Queue<Object[]> paces = new ConcurrentLinkedQueue<>();

		PaceRecorder(HeartbeatCounter heartbeats) {
			this.heartbeats = heartbeats;
		}

		@Override
		public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
			if (kind == BatchKind.COPY) {
				this.batches.add(new Object[] { this.heartbeats.heartbeats(), batchSize });
			}
			return Batch.NONE;
		}

		@Override
		public void paced(MigrationDefinition migration, int batchSize, Duration pause) {
			this.paces.add(new Object[] { this.heartbeats.heartbeats(), new Pace(batchSize, pause) });
		}

		boolean seen(int batchSize, Duration pause) {
			return pacesFrom(0).contains(new Pace(batchSize, pause));
		}

		List<Integer> batchSizesFrom(long heartbeat) {
			return from(this.batches, heartbeat, Integer.class);
		}

		List<Pace> pacesFrom(long heartbeat) {
			return from(this.paces, heartbeat, Pace.class);
		}

		private static <T> List<T> from(Queue<Object[]> recorded, long heartbeat, Class<T> type) {
			return recorded.stream()
				.filter((each) -> (long) each[0] >= heartbeat)
				.map((each) -> type.cast(each[1]))
				.toList();
		}

	}

}
