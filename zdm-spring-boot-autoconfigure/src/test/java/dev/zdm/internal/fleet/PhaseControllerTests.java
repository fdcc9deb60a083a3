package dev.zdm.internal.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link PhaseController}: several instances, each a controller on a pool of
 * its own, against a real PostgreSQL.
 */
class PhaseControllerTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	/** Settings under which only {@link PhaseController#refresh()} moves an instance. */
	private static final FleetSettings MANUAL = new FleetSettings(Duration.ofHours(1), Duration.ofHours(2),
			Duration.ofSeconds(1), Duration.ofHours(3));

	private static final AtomicInteger migrationCounter = new AtomicInteger();

	private final List<PhaseController> started = new ArrayList<>();

	private final String id = "m" + migrationCounter.incrementAndGet();

	@BeforeAll
	static void createTable() {
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text, email_address text)");
	}

	@AfterEach
	void stopInstances() {
		this.started.forEach(PhaseController::stop);
	}

	@Test
	void aMigrationMayDeriveAColumnOfOneWhoseContractRanAndThatStaysDeclared() {
		MigrationDefinition first = withBackfill(Phase.CONTRACT);
		MigrationDefinition second = MigrationDefinition.builder(this.id + "-again")
			.table("users")
			.up("email_address", "upper(email)")
			.requestedPhase(Phase.EXPAND)
			.build();
		InstanceInfo instance = InstanceInfo.ofThisProcess("again", "test", "1");
		// while the first one syncs email_address, the second may not derive it too
		PhaseController refused = TestEngine.phaseController(postgres.dataSource(), List.of(first, second), instance,
				MANUAL, List.of());
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(refused::start)
			.withMessageContaining("column 'email_address' of table 'public.users' is written both by");
		// once its contract ran it writes no column any more, declared or not
		new ZdmSchema(postgres.dataSource()).migrate();
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		states.register(first.id());
		assertThat(states.markContracted(first.id(), "test")).isTrue();
		PhaseController controller = TestEngine.phaseController(postgres.dataSource(), List.of(first, second), instance,
				MANUAL, List.of());
		this.started.add(controller);
		controller.start();
		assertThat(controller.status(second.id()).effective()).isEqualTo(Phase.EXPAND);
	}

	@Test
	void instanceHeldBackWhileAnotherLiveInstanceIsTooFarBehindIsReleasedWhenItLeaves() {
		PhaseController old = start("old", withoutBackfill(Phase.EXPAND), MANUAL);
		PhaseController upgraded = start("new", withoutBackfill(Phase.BACKFILL), MANUAL);
		assertThat(upgraded.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(upgraded.status(this.id).heldBackReason()).contains("instance old runs expand");
		old.stop();
		upgraded.refresh();
		assertThat(upgraded.status(this.id).effective()).isEqualTo(Phase.BACKFILL);
		assertThat(upgraded.status(this.id).heldBackReason()).isNull();
	}

	@Test
	void instanceHeldBackWhileAnotherLiveInstanceIsTooFarBehindIsReleasedWhenItCatchesUp() {
		PhaseController slow = start("slow", withBackfill(Phase.READ_NEW), MANUAL);
		PhaseController fast = start("fast", withBackfill(Phase.CONTRACT), MANUAL);
		assertThat(slow.status(this.id).effective()).isEqualTo(Phase.BACKFILL);
		assertThat(fast.status(this.id).effective()).isEqualTo(Phase.BACKFILL);
		new MigrationStateRepository(postgres.dataSource()).markVerified(this.id, "test");
		fast.refresh();
		assertThat(fast.status(this.id).effective()).isEqualTo(Phase.READ_NEW);
		fast.refresh();
		assertThat(fast.status(this.id).effective()).isEqualTo(Phase.READ_NEW);
		assertThat(fast.status(this.id).heldBackReason()).contains("instance slow runs backfill");
		slow.refresh();
		assertThat(slow.status(this.id).effective()).isEqualTo(Phase.READ_NEW);
		fast.refresh();
		assertThat(fast.status(this.id).effective()).isEqualTo(Phase.CONTRACT);
		assertThat(fast.status(this.id).heldBackReason()).isNull();
	}

	@Test
	void twoInstancesConfiguredWithOneIdKeepWithinOnePhaseOfEachOther() {
		PhaseController first = start("twin", withoutBackfill(Phase.EXPAND), MANUAL);
		// a second instance under the same id, on a pool of its own, two phases further
		PhaseController second = TestEngine.phaseController(postgres.newDataSource("twin-second", 3),
				List.of(withoutBackfill(Phase.BACKFILL)), InstanceInfo.ofThisProcess("twin", "test", "1.1"), MANUAL,
				List.of());
		this.started.add(second);
		second.start();
		// the fleet registry holds one row per id: without telling the other's writes
		// from its own, each would leave the other out of the one-phase rule
		assertThat(second.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(second.status(this.id).heldBackReason())
			.contains("instance twin (another process under this instance id) runs expand");
		assertThat(second.status(this.id).liveMembers())
			.anySatisfy((member) -> assertThat(member.instanceId() + " " + member.effectivePhase())
				.isEqualTo("twin (another process under this instance id) expand"));
		assertThat(second.status(this.id).wholeFleetAtLeast(Phase.DUAL_WRITE)).isFalse();
		for (int heartbeat = 0; heartbeat < 3; heartbeat++) {
			first.refresh();
			second.refresh();
			assertThat(first.status(this.id).effective()).isEqualTo(Phase.EXPAND);
			assertThat(second.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		}
		// once the first leaves the fleet, the second goes on
		first.stop();
		second.refresh();
		assertThat(second.status(this.id).effective()).isEqualTo(Phase.BACKFILL);
	}

	@Test
	void phaseSkippedInOneDeployAdvancesOnePhaseAtATimeAsTheFleetFollows() throws Exception {
		PhaseController old = start("old", withoutBackfill(Phase.EXPAND), TestFleet.SETTINGS);
		PhaseController first = start("first", withoutBackfill(Phase.CONTRACT), TestFleet.SETTINGS);
		assertThat(first.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		List<Phase> firstPhases = new CopyOnWriteArrayList<>();
		AtomicInteger widestGap = new AtomicInteger();
		AtomicBoolean watching = new AtomicBoolean(true);
		FleetRegistry registry = new FleetRegistry(postgres.dataSource());
		Thread watcher = new Thread(() -> {
			while (watching.get()) {
				List<FleetMember> live = registry.members(this.id, TestFleet.TIMEOUT)
					.stream()
					.filter(FleetMember::live)
					.toList();
				int min = live.stream().mapToInt((member) -> member.effectivePhase().ordinal()).min().orElse(0);
				int max = live.stream().mapToInt((member) -> member.effectivePhase().ordinal()).max().orElse(0);
				widestGap.accumulateAndGet(max - min, Math::max);
				live.stream()
					.filter((member) -> member.instanceId().equals("first"))
					.findFirst()
					.ifPresent((member) -> {
						if (firstPhases.isEmpty()
								|| firstPhases.get(firstPhases.size() - 1) != member.effectivePhase()) {
							firstPhases.add(member.effectivePhase());
						}
					});
			}
		});
		watcher.start();
		PhaseController second = start("second", withoutBackfill(Phase.CONTRACT), TestFleet.SETTINGS);
		old.stop();
		await().atMost(Duration.ofSeconds(30))
			.until(() -> first.status(this.id).effective() == Phase.CONTRACT
					&& second.status(this.id).effective() == Phase.CONTRACT);
		watching.set(false);
		watcher.join();
		assertThat(firstPhases).containsExactly(Phase.DUAL_WRITE, Phase.BACKFILL, Phase.READ_NEW, Phase.CONTRACT);
		assertThat(widestGap.get()).isLessThanOrEqualTo(1);
	}

	@Test
	void instanceThatStopsHeartbeatingDropsOutAfterTheTimeout() {
		PhaseController upgraded = start("upgraded", withoutBackfill(Phase.BACKFILL), TestFleet.SETTINGS);
		registerInstanceThatNeverHeartbeatsAgain("crashed", Phase.EXPAND);
		upgraded.refresh();
		assertThat(upgraded.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(upgraded.status(this.id).heldBackReason()).contains("instance crashed runs expand");
		// as if half the timeout had passed since its heartbeat: still live
		TestFleet.age(postgres.dataSource(), "crashed", TestFleet.TIMEOUT.dividedBy(2));
		upgraded.refresh();
		assertThat(upgraded.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		// as if more than the timeout had passed: dropped out
		TestFleet.expire(postgres.dataSource(), "crashed");
		await().atMost(Duration.ofSeconds(30)).until(() -> upgraded.status(this.id).effective() == Phase.BACKFILL);
		assertThat(upgraded.status(this.id).fleet()).filteredOn((member) -> member.instanceId().equals("crashed"))
			.singleElement()
			.satisfies((member) -> assertThat(member.live()).isFalse());
	}

	@Test
	void phaseIsFixedInsideATransactionWhileTheControllerMovesOn() {
		FleetRegistry registry = registerInstanceThatNeverHeartbeatsAgain("old", Phase.EXPAND);
		PhaseController controller = start("app", withoutBackfill(Phase.BACKFILL), MANUAL);
		DataSource dataSource = postgres.newDataSource("application", 2);
		TransactionTemplate transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		List<Phase> seen = transactions.execute((transaction) -> {
			List<Phase> phases = new ArrayList<>();
			phases.add(controller.effectivePhase(this.id));
			registry.remove("old");
			controller.refresh();
			phases.add(controller.status(this.id).effective());
			phases.add(controller.effectivePhase(this.id));
			return phases;
		});
		assertThat(seen).containsExactly(Phase.DUAL_WRITE, Phase.BACKFILL, Phase.DUAL_WRITE);
		Phase nextTransaction = transactions.execute((transaction) -> controller.effectivePhase(this.id));
		assertThat(nextTransaction).isEqualTo(Phase.BACKFILL);
		assertThat(controller.effectivePhase(this.id)).isEqualTo(Phase.BACKFILL);
	}

	@Test
	void gracefulShutdownLeavesTheFleet() {
		PhaseController controller = start("leaving", withoutBackfill(Phase.DUAL_WRITE), TestFleet.SETTINGS);
		assertThat(instanceRows("leaving")).isEqualTo(1);
		controller.stop();
		assertThat(new FleetRegistry(postgres.dataSource()).members(this.id, TestFleet.TIMEOUT))
			.extracting(FleetMember::instanceId)
			.doesNotContain("leaving");
		// kept, marked as left: the contract and the abandon wait for it for the timeout
		Integer left = new JdbcTemplate(postgres.dataSource()).queryForObject(
				"SELECT count(*) FROM zdm_instance WHERE instance_id = ? AND migration_id = ? AND left_at IS NOT NULL",
				Integer.class, "leaving", this.id);
		assertThat(left).isEqualTo(1);
	}

	@Test
	void earlierPhaseRequestedAfterContractFailsAtStartUp() {
		start("first", withoutBackfill(Phase.CONTRACT), MANUAL).stop();
		assertThat(new MigrationStateRepository(postgres.dataSource()).markContracted(this.id, "first")).isTrue();
		PhaseController late = controller("late", withoutBackfill(Phase.READ_NEW), MANUAL);
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(late::start)
			.withMessageContaining("requests phase read-new, but its contract DDL already ran")
			.satisfies((ex) -> assertThat(ex.getAction()).contains("zdm.migrations." + this.id + ".phase=contract"));
		assertThat(instanceRows("late")).isZero();
		PhaseController current = start("current", withoutBackfill(Phase.CONTRACT), MANUAL);
		assertThat(current.status(this.id).effective()).isEqualTo(Phase.CONTRACT);
	}

	@Test
	void instanceWhoseLastHeartbeatIsOlderThanTheFleetTimeoutRoutesByAContractRunMeanwhile() throws Exception {
		// heartbeats every 200 ms, out of the fleet after 1 s
		FleetSettings settings = new FleetSettings(Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(1),
				Duration.ofHours(1));
		CountDownLatch frozen = new CountDownLatch(1);
		CountDownLatch thawed = new CountDownLatch(1);
		AtomicBoolean freeze = new AtomicBoolean();
		// stops the heartbeat thread inside a heartbeat, as a paused process stops it
		MigrationParticipant freezer = new MigrationParticipant() {

			@Override
			public void afterHeartbeat(MigrationStatus status) {
				if (freeze.get()) {
					frozen.countDown();
					try {
						thawed.await();
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
				}
			}

		};
		PhaseController paused = TestEngine.phaseController(postgres.newDataSource("paused", 3),
				List.of(withoutBackfill(Phase.READ_NEW)), InstanceInfo.ofThisProcess("paused", "test", "1.0"), settings,
				List.of(freezer));
		this.started.add(paused);
		paused.start();
		try {
			assertThat(paused.effectivePhase(this.id)).isEqualTo(Phase.READ_NEW);
			freeze.set(true);
			assertThat(frozen.await(10, TimeUnit.SECONDS)).isTrue();
			// meanwhile the rest of the fleet, counting it as gone, runs the contract
			assertThat(new MigrationStateRepository(postgres.dataSource()).markContracted(this.id, "the-others"))
				.isTrue();
			await().atMost(Duration.ofSeconds(10))
				.until(() -> Duration.between(paused.status(this.id).decidedAt(), Instant.now())
					.compareTo(settings.timeout()) > 0);
			assertThat(paused.status(this.id).effective()).as("its last heartbeat's decision")
				.isEqualTo(Phase.READ_NEW);
			assertThat(paused.effectivePhase(this.id)).as("what its calls route by before its next heartbeat")
				.isEqualTo(Phase.CONTRACT);
		}
		finally {
			thawed.countDown();
		}
	}

	@Test
	void phaseRequestedOnARunningInstanceIsDecidedByTheFleetAndRecordedAtOnce() {
		PhaseController old = start("old", withoutBackfill(Phase.EXPAND), MANUAL);
		PhaseController moved = start("moved", withoutBackfill(Phase.DUAL_WRITE), MANUAL);
		moved.requestPhase(this.id, Phase.BACKFILL);
		assertThat(moved.status(this.id).requested()).isEqualTo(Phase.BACKFILL);
		assertThat(moved.status(this.id).effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(moved.status(this.id).heldBackReason()).contains("instance old runs expand");
		old.stop();
		moved.requestPhase(this.id, Phase.BACKFILL);
		assertThat(moved.status(this.id).effective()).isEqualTo(Phase.BACKFILL);
		assertThat(new JdbcTemplate(postgres.dataSource())
			.queryForObject("SELECT requested_phase || ' ' || effective_phase FROM zdm_instance WHERE instance_id = ? "
					+ "AND migration_id = ?", String.class, "moved", this.id))
			.isEqualTo("backfill backfill");
	}

	@Test
	void earlierPhaseRequestedOnARunningInstanceAfterContractIsRefused() {
		PhaseController running = start("running", withoutBackfill(Phase.READ_NEW), MANUAL);
		assertThat(new MigrationStateRepository(postgres.dataSource()).markContracted(this.id, "other")).isTrue();
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> running.requestPhase(this.id, Phase.READ_NEW))
			.withMessageContaining("requests phase read-new, but its contract DDL already ran");
		running.requestPhase(this.id, Phase.CONTRACT);
		assertThat(running.status(this.id).requested()).isEqualTo(Phase.CONTRACT);
	}

	@Test
	void instanceRunningExpandVoidsTheBackfillVerification() {
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		PhaseController newer = start("newer", withBackfill(Phase.READ_NEW), MANUAL);
		states.markVerified(this.id, "test");
		newer.refresh();
		assertThat(newer.status(this.id).effective()).isEqualTo(Phase.READ_NEW);
		newer.stop();
		PhaseController rolledBack = start("rolled-back", withBackfill(Phase.EXPAND), MANUAL);
		assertThat(rolledBack.status(this.id).state().isVerified()).isFalse();
		assertThat(states.find(this.id).verificationVoidReason())
			.isEqualTo("instance rolled-back runs expand and writes the old columns only");
	}

	@Test
	void joiningInstanceMoreThanOnePhaseBehindWaitsForTheFleetToStepBack() {
		PhaseController ahead = start("ahead", withoutBackfill(Phase.READ_NEW), TestFleet.SETTINGS);
		assertThat(ahead.status(this.id).effective()).isEqualTo(Phase.READ_NEW);
		PhaseController behind = start("behind", withoutBackfill(Phase.EXPAND), TestFleet.SETTINGS);
		assertThat(behind.status(this.id).effective()).isEqualTo(Phase.EXPAND);
		FleetMember aheadNow = behind.status(this.id)
			.fleet()
			.stream()
			.filter((member) -> member.instanceId().equals("ahead"))
			.findFirst()
			.orElseThrow();
		assertThat(aheadNow.effectivePhase()).isEqualTo(Phase.DUAL_WRITE);
	}

	@Test
	void unknownMigrationIsRefusedByName() {
		PhaseController controller = start("app", withoutBackfill(Phase.EXPAND), MANUAL);
		assertThatExceptionOfType(IllegalArgumentException.class)
			.isThrownBy(() -> controller.effectivePhase("no-such-migration"))
			.withMessageContaining("No migration 'no-such-migration' is declared");
	}

	private FleetRegistry registerInstanceThatNeverHeartbeatsAgain(String instanceId, Phase phase) {
		new ZdmSchema(postgres.dataSource()).migrate();
		new MigrationStateRepository(postgres.dataSource()).register(this.id);
		FleetRegistry registry = new FleetRegistry(postgres.dataSource());
		registry.heartbeat(InstanceInfo.ofThisProcess(instanceId, "test", "0.9"), this.id, phase, phase, null);
		return registry;
	}

	private MigrationDefinition withoutBackfill(Phase requested) {
		return MigrationDefinition.builder(this.id).table("users").requestedPhase(requested).build();
	}

	private MigrationDefinition withBackfill(Phase requested) {
		return MigrationDefinition.builder(this.id)
			.table("users")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.requestedPhase(requested)
			.build();
	}

	private PhaseController start(String instanceId, MigrationDefinition migration, FleetSettings settings) {
		PhaseController controller = controller(instanceId, migration, settings);
		controller.start();
		return controller;
	}

	private PhaseController controller(String instanceId, MigrationDefinition migration, FleetSettings settings) {
		PhaseController controller = TestEngine.phaseController(postgres.newDataSource(instanceId, 3),
				List.of(migration), InstanceInfo.ofThisProcess(instanceId, "test", "1.0"), settings, List.of());
		this.started.add(controller);
		return controller;
	}

	private int instanceRows(String instanceId) {
		Integer count = new JdbcTemplate(postgres.dataSource()).queryForObject(
				"SELECT count(*) FROM zdm_instance WHERE instance_id = ? AND migration_id = ?", Integer.class,
				instanceId, this.id);
		return (count != null) ? count : 0;
	}

}
