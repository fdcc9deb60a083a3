package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that same-table and cross-table migrations reach {@code read-new} while the
 * application inserts (at more than 50 rows/s, above the backfill's bound and below it),
 * updates and deletes throughout the copy and the verification, with no disagreeing,
 * missing or extra row and no lost write.
 */
@Isolated
class BackfillLiveTrafficTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 20_000;

	/**
	 * The bound this test states: from start-up to read-new for 20,000 rows under the
	 * workload.
	 */
	private static final Duration READ_NEW_WITHIN = Duration.ofSeconds(120);

	private final List<PhaseController> controllers = new ArrayList<>();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void sameTableMigrationReachesReadNewUnderLiveInsertsUpdatesAndDeletes() throws Exception {
		reachesReadNewUnderLiveWrites("live-same", "live_same", false);
	}

	@Test
	void crossTableMigrationReachesReadNewUnderLiveInsertsUpdatesAndDeletes() throws Exception {
		reachesReadNewUnderLiveWrites("live-cross", "live_cross", true);
	}

	private void reachesReadNewUnderLiveWrites(String id, String table, boolean crossTable) throws Exception {
		LiveWorkload.create(postgres, table, crossTable, ROWS);
		PhaseController controller = start(id + "-a", migration(id, table, crossTable, Phase.READ_NEW));
		LiveWorkload workload = new LiveWorkload(postgres, table, crossTable, ROWS,
				() -> controller.status(id).effective(), 600);
		long started = System.nanoTime();
		workload.start(3);
		// counts of writes at the first and the last moment the copy, then the
		// verification, was seen in flight
		long[] copyFirst = null;
		long[] copyLast = null;
		long[] verifyFirst = null;
		long[] verifyLast = null;
		long deadline = System.nanoTime() + READ_NEW_WITHIN.toNanos();
		while (controller.status(id).effective() != Phase.READ_NEW) {
			assertThat(System.nanoTime()).as("read-new reached within %s", READ_NEW_WITHIN).isLessThan(deadline);
			assertThat(workload.failure()).isNull();
			long[] counts = workload.counts();
			BackfillProgress progress = this.service.progress(id);
			if (progress != null && progress.copiedAt() == null && progress.rowsDone() > 0) {
				copyFirst = (copyFirst != null) ? copyFirst : counts;
				copyLast = counts;
			}
			if (progress != null && progress.verifying() != null && progress.verifying().rowsChecked() > 0) {
				verifyFirst = (verifyFirst != null) ? verifyFirst : counts;
				verifyLast = counts;
			}
			Thread.sleep(5);
		}
		double seconds = (System.nanoTime() - started) / 1e9;
		long[] atReadNew = workload.counts();
		// inserts, updates and deletes go on at read-new
		workload.awaitEveryKindBeyond(atReadNew, 20);
		workload.stop();
		assertThat(workload.failure()).isNull();
		assertThat(copyFirst).as("copy observed").isNotNull();
		assertThat(verifyFirst).as("verification observed").isNotNull();
		for (int kind = 0; kind < 3; kind++) {
			assertThat(copyLast[kind]).as("writes of kind %s during the copy", kind).isGreaterThan(copyFirst[kind]);
			assertThat(verifyLast[kind]).as("writes of kind %s during the verification", kind)
				.isGreaterThan(verifyFirst[kind]);
		}
		assertThat(workload.inserts.get() / seconds).as("inserts per second").isGreaterThan(10);
		assertThat(LiveWorkload.disagreeing(postgres, table, crossTable)).as("disagreeing or missing rows").isZero();
		assertThat(workload.lostWrites()).as("lost writes").isZero();
		BackfillProgress progress = this.service.progress(id);
		assertThat(progress.verification().succeeded()).isTrue();
		assertThat(progress.verification().rowsChecked()).isGreaterThan(ROWS / 2);
		assertThat(progress.verifying()).isNull();
	}

	static MigrationDefinition migration(String id, String table, boolean crossTable, Phase phase) {
		BackfillSettings settings = BackfillFixtures.settings(200, 100, 1000, Duration.ofMillis(30))
			.withVerification(500, Duration.ofMillis(40));
		MigrationDefinition.Builder builder = MigrationDefinition.builder(id)
			.requestedPhase(phase)
			.table(table)
			.backfill(settings);
		if (crossTable) {
			return builder.targetTable(table + "_addresses")
				.targetKey("order_id")
				.up("street", "street")
				.up("city", "upper(city)")
				.build();
		}
		return builder.up("street_new", "street").up("city_new", "upper(city)").build();
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of())));
		controller.start();
		this.controllers.add(controller);
		return controller;
	}

}
