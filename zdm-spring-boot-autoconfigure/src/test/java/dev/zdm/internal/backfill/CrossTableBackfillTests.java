package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.backfill.VerificationProgress;
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
import static org.awaitility.Awaitility.await;

/**
 * Tests for the backfill and verification of a migration into another table against a
 * real PostgreSQL: the {@code read-new} gate, takeover of a verification whose runner
 * dies, and repair of target rows changed, deleted or added behind zdm's back.
 */
class CrossTableBackfillTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final List<PhaseController> controllers = new ArrayList<>();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void readNewIsHeldBackUntilTheCrossTableBackfillIsVerified() {
		LiveWorkload.create(postgres, "gated", true, 10_000);
		BackfillSettings slow = BackfillFixtures.settings(200, 200, 200, Duration.ofMillis(50));
		PhaseController controller = start("gated-a", migration("gated", "gated", Phase.READ_NEW, slow));
		await().atMost(Duration.ofSeconds(20)).until(() -> rowsDone("gated") > 1000);
		assertThat(controller.status("gated").effective()).isEqualTo(Phase.BACKFILL);
		assertThat(controller.status("gated").heldBackReason()).contains("read-new needs a verified backfill");
		assertThat(LiveWorkload.disagreeing(postgres, "gated", true)).isPositive();
		await().atMost(Duration.ofSeconds(60))
			.until(() -> controller.status("gated").effective() == Phase.READ_NEW && verified("gated"));
		assertThat(this.service.progress("gated").verification().succeeded()).isTrue();
		assertThat(LiveWorkload.disagreeing(postgres, "gated", true)).isZero();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM gated_addresses", Long.class)).isEqualTo(10_000);
	}

	@Test
	void firstInstanceToAskForReadNewHasTheBackfillVerifiedAgainSoOutsideWritesReachTheTarget() throws Exception {
		LiveWorkload.create(postgres, "late", true, 3_000);
		BackfillSettings settings = BackfillFixtures.settings(1000, 100, 2000, Duration.ZERO);
		PhaseController first = start("late-a", migration("late", "late", Phase.BACKFILL, settings));
		await().atMost(Duration.ofSeconds(30)).until(() -> verified("late"));
		Instant firstVerified = this.service.progress("late").verification().finishedAt();
		LiveWorkload workload = new LiveWorkload(postgres, "late", true, 3_000, () -> first.status("late").effective(),
				200);
		workload.start(2);
		workload.awaitMoreWrites(50);
		// a writer outside the application, on the source table only, after the
		// verification (keys the workload never writes): nothing copies its rows
		int outside = this.jdbc.update("INSERT INTO late (id, street, city) "
				+ "SELECT i, 'outside ' || i, 'outside' FROM generate_series(900001, 900030) AS i");
		assertThat(outside).isEqualTo(30);
		PhaseController reader = start("late-b", migration("late", "late", Phase.READ_NEW, settings));
		await().atMost(Duration.ofSeconds(30)).until(() -> reader.status("late").effective() == Phase.READ_NEW);
		// it read the target only once the verification ran again and copied them
		assertThat(this.service.progress("late").verification().finishedAt()).isAfter(firstVerified);
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM late_addresses "
						+ "WHERE order_id > 900000 AND street = 'outside ' || order_id AND city = 'OUTSIDE'",
				Long.class))
			.isEqualTo(30);
		workload.stopAndAssertNoWriteLost();
		assertThat(LiveWorkload.disagreeing(postgres, "late", true)).isZero();
	}

	@Test
	void aWalkBackBelowReadNewHasTheBackfillVerifiedAgainBeforeTheFleetReadsTheNewSideAgain() throws Exception {
		LiveWorkload.create(postgres, "back", true, 3_000);
		BackfillSettings settings = BackfillFixtures.settings(1000, 100, 2000, Duration.ZERO);
		AtomicReference<PhaseController> running = new AtomicReference<>(
				start("back-a", migration("back", "back", Phase.READ_NEW, settings)));
		LiveWorkload workload = new LiveWorkload(postgres, "back", true, 3_000,
				LiveWorkload.effectivePhase(running, "back"), 200);
		workload.start(2);
		await().atMost(Duration.ofSeconds(60)).until(() -> running.get().status("back").effective() == Phase.READ_NEW);
		workload.awaitMoreWrites(50);
		// the fleet walks back to backfill: the old side is the source of truth again
		this.controllers.remove(0).stop();
		running.set(start("back-b", migration("back", "back", Phase.BACKFILL, settings)));
		await().atMost(Duration.ofSeconds(30)).until(() -> running.get().status("back").effective() == Phase.BACKFILL);
		// once the instance that ran read-new has been gone the fleet timeout (a restart
		// of it would have come back by then), the fleet is back below read-new
		await().atMost(TestFleet.TIMEOUT.multipliedBy(3))
			.until(() -> this.jdbc.queryForObject(
					"SELECT read_new_at IS NULL FROM zdm_migration WHERE migration_id = 'back'", Boolean.class));
		Instant verifiedBefore = this.service.progress("back").verification().finishedAt();
		workload.awaitMoreWrites(50);
		// a writer outside the application, on the source table only, keys the workload
		// never writes: nothing copies its rows
		assertThat(this.jdbc.update("INSERT INTO back (id, street, city) "
				+ "SELECT i, 'outside ' || i, 'outside' FROM generate_series(900001, 900030) AS i"))
			.isEqualTo(30);
		// and forward again: the new side is read only once the verification ran again
		// and copied them (once it served the rows it had before the walk back)
		this.controllers.remove(0).stop();
		running.set(start("back-c", migration("back", "back", Phase.READ_NEW, settings)));
		await().atMost(Duration.ofSeconds(60)).until(() -> running.get().status("back").effective() == Phase.READ_NEW);
		assertThat(this.service.progress("back").verification().finishedAt()).isAfter(verifiedBefore);
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM back_addresses "
						+ "WHERE order_id > 900000 AND street = 'outside ' || order_id AND city = 'OUTSIDE'",
				Long.class))
			.isEqualTo(30);
		workload.awaitMoreWrites(50);
		workload.stopAndAssertNoWriteLost();
		assertThat(LiveWorkload.disagreeing(postgres, "back", true)).isZero();
	}

	@Test
	void verificationResumesFromItsCheckpointAfterRunnerDies() throws Exception {
		int rows = 40_000;
		LiveWorkload.create(postgres, "taken", true, rows);
		// a verification of at least 12 s: the runner dies in it even on a slow machine
		BackfillSettings settings = BackfillFixtures.settings(5000, 1000, 20_000, Duration.ZERO)
			.withVerification(500, Duration.ofMillis(150));
		start("taken-a", migration("taken", "taken", Phase.BACKFILL, settings));
		await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).until(() -> {
			BackfillProgress progress = this.service.progress("taken");
			return progress != null && progress.verifying() != null && progress.verifying().rowsChecked() > 5000;
		});
		VerificationProgress before = this.service.progress("taken").verifying();
		assertThat(before.pass()).isEqualTo(1);
		assertThat(before.rowsToCheck()).isGreaterThan(0L);
		assertThat(before.rate()).isPositive();
		assertThat(before.eta()).isNotNull();
		start("taken-b", migration("taken", "taken", Phase.BACKFILL, settings));
		Integer runnerPid = this.jdbc.queryForObject("SELECT runner_pid FROM zdm_backfill WHERE migration_id = 'taken'",
				Integer.class);
		this.jdbc.queryForObject("SELECT pg_terminate_backend(?)", Boolean.class, runnerPid);
		Instant killedAt = Instant.now();
		// a leaves too, so that b, not a's retry, takes over
		this.controllers.remove(0).stop();
		await().atMost(Duration.ofSeconds(60))
			.until(() -> this.service.progress("taken").state() == BackfillState.VERIFIED);
		BackfillProgress progress = this.service.progress("taken");
		assertThat(progress.runner()).isEqualTo("taken-b");
		BackfillVerification verification = progress.verification();
		assertThat(verification.succeeded()).isTrue();
		// the same pass went on from its checkpoint: it started before the kill, and
		// counted every row once
		assertThat(verification.passes()).isEqualTo(1);
		assertThat(verification.startedAt()).isBefore(killedAt);
		assertThat(verification.rowsChecked()).isEqualTo(rows);
		assertThat(LiveWorkload.disagreeing(postgres, "taken", true)).isZero();
	}

	@Test
	void verificationRepairsTargetRowsChangedMissingOrAddedBehindItsBack() {
		LiveWorkload.create(postgres, "behind", true, 5_000);
		start("behind-a", migration("behind", "behind", Phase.BACKFILL,
				BackfillFixtures.settings(1000, 100, 2000, Duration.ZERO)));
		await().atMost(Duration.ofSeconds(30)).until(() -> verified("behind"));
		BackfillVerification first = this.service.progress("behind").verification();
		int changed = this.jdbc.update("UPDATE behind_addresses SET city = 'behind its back' WHERE order_id % 100 = 0");
		int deleted = this.jdbc.update("DELETE FROM behind_addresses WHERE order_id % 100 = 2");
		int added = this.jdbc.update("INSERT INTO behind_addresses (order_id, street, city) "
				+ "SELECT i, 'extra', 'extra' FROM generate_series(1, 99, 2) AS i");
		int beyond = this.jdbc
			.update("INSERT INTO behind_addresses (order_id, street, city) VALUES (1000001, 'x', 'y')");
		assertThat(LiveWorkload.disagreeing(postgres, "behind", true)).isEqualTo(changed + deleted + added + beyond);
		this.service.verify("behind");
		await().atMost(Duration.ofSeconds(30)).until(() -> {
			BackfillVerification latest = this.service.progress("behind").verification();
			return latest != null && !latest.finishedAt().equals(first.finishedAt());
		});
		BackfillVerification second = this.service.progress("behind").verification();
		assertThat(second.rowsRepaired()).isEqualTo(changed + deleted + added + beyond);
		assertThat(second.passes()).isEqualTo(2);
		assertThat(second.rowsDisagreeing()).isZero();
		assertThat(second.succeeded()).isTrue();
		assertThat(LiveWorkload.disagreeing(postgres, "behind", true)).isZero();
	}

	@Test
	void copyLeavesExistingTargetRowsAndVerificationRepairsThoseThatDiffer() {
		LiveWorkload.create(postgres, "existing", true, 5_000);
		// rows left by an earlier run (for example before going back to expand): some
		// agree, some differ
		int agreeing = this.jdbc.update("INSERT INTO existing_addresses (order_id, street, city) "
				+ "SELECT id, street, upper(city) FROM existing WHERE id % 10 = 0");
		int differing = this.jdbc.update("INSERT INTO existing_addresses (order_id, street, city) "
				+ "SELECT id, 'earlier', 'earlier' FROM existing WHERE id % 10 = 4");
		start("existing-a", migration("existing", "existing", Phase.BACKFILL,
				BackfillFixtures.settings(1000, 100, 2000, Duration.ZERO)));
		await().atMost(Duration.ofSeconds(30)).until(() -> verified("existing"));
		BackfillProgress progress = this.service.progress("existing");
		assertThat(progress.rowsUpdated()).as("rows the copy inserted").isEqualTo(5_000 - agreeing - differing);
		BackfillVerification verification = progress.verification();
		assertThat(verification.succeeded()).isTrue();
		assertThat(verification.rowsRepaired()).isEqualTo(differing);
		assertThat(LiveWorkload.disagreeing(postgres, "existing", true)).isZero();
	}

	@Test
	void emptyTablesAreVerified() {
		LiveWorkload.create(postgres, "empty", true, 0);
		start("empty-a",
				migration("empty", "empty", Phase.BACKFILL, BackfillFixtures.settings(1000, 100, 2000, Duration.ZERO)));
		await().atMost(Duration.ofSeconds(30)).until(() -> verified("empty"));
		BackfillVerification verification = this.service.progress("empty").verification();
		assertThat(verification.succeeded()).isTrue();
		assertThat(verification.rowsChecked()).isZero();
	}

	static MigrationDefinition migration(String id, String table, Phase phase, BackfillSettings settings) {
		return MigrationDefinition.builder(id)
			.requestedPhase(phase)
			.table(table)
			.targetTable(table + "_addresses")
			.targetKey("order_id")
			.up("street", "street")
			.up("city", "upper(city)")
			.backfill(settings)
			.build();
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(dataSource, TestFleet.SETTINGS.timeout(), List.of())));
		controller.start();
		this.controllers.add(controller);
		return controller;
	}

	/**
	 * Whether the migration is marked verified and the verification's record is stored
	 * (the runner writes both in one transaction).
	 */
	private boolean verified(String id) {
		BackfillProgress progress = this.service.progress(id);
		return progress != null && progress.verification() != null && Boolean.TRUE.equals(this.jdbc.queryForObject(
				"SELECT verified_at IS NOT NULL FROM zdm_migration WHERE migration_id = ?", Boolean.class, id));
	}

	private long rowsDone(String id) {
		BackfillProgress progress = this.service.progress(id);
		return (progress != null) ? progress.rowsDone() : 0;
	}

}
