package dev.zdm.sample;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.context.ConfigurableApplicationContext;

import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.BackfillOverrides;
import dev.zdm.internal.backfill.BackfillParticipant;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.sample.deploy.ApplicationInstances;
import dev.zdm.sample.deploy.SampleDatabase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Live tuning outlives the runner: batch bounds changed while an instance, in a JVM of
 * its own, runs the backfill take effect on it, and after it is killed with
 * {@code kill -9} the instance that takes the backfill over runs with them too, since
 * they are stored in the database, not in the runner.
 */
@Isolated
class BackfillTuningKillTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String MIGRATION = "customers-email";

	private static final String PROGRESS = "SELECT runner, rows_done, batches, batch_size FROM zdm_backfill "
			+ "WHERE migration_id = '" + MIGRATION + "'";

	@RegisterExtension
	final ApplicationInstances instances = new ApplicationInstances(SampleApplication.class, postgres, MIGRATION,
			"zdm.migrations.customers-address.expand-paused=true",
			"zdm.migrations." + MIGRATION + ".backfill.max-rows-per-second=2000");

	@Test
	void overridesTakeEffectOnTheRunnerAndOnTheInstanceThatTakesOverAfterItIsKilled() throws Exception {
		SampleDatabase.createCustomers(postgres, 200000);
		// zdm's own tables, as the first instance would create them, so that the test can
		// read the backfill's progress from the start
		new ZdmSchema(postgres.dataSource()).migrate();
		Process first = this.instances.launch("first", "phase=backfill");
		await().atMost(Duration.ofMinutes(3)).until(() -> {
			assertThat(first.isAlive()).as("the first instance runs; its log: %s", this.instances.log("first"))
				.isTrue();
			Map<String, Object> progress = progress();
			return progress != null && "first".equals(progress.get("runner"))
					&& ((Number) progress.get("batches")).longValue() > 5;
		});
		assertThat(((Number) progress().get("batch_size")).intValue()).as("declared batches, before the change")
			.isGreaterThan(120);
		new BackfillOverrideRepository(postgres.dataSource()).change(MIGRATION,
				new BackfillOverrides(100, 50, 120, null, null, null, null, null, null, null, null, null),
				new OperatorAction(BackfillOverrides.CHANGE_ACTION, "ops", "test", "kill -9 test", Instant.now()));
		long batchesAtChange = ((Number) progress().get("batches")).longValue();
		// the running instance reads the change at its next heartbeat (200 ms) and
		// applies it from its next batch
		await().atMost(Duration.ofSeconds(30)).until(() -> {
			Map<String, Object> progress = progress();
			return ((Number) progress.get("batches")).longValue() > batchesAtChange + 3
					&& ((Number) progress.get("batch_size")).intValue() <= 120;
		});
		first.destroyForcibly();
		assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
		long rowsAtKill = ((Number) progress().get("rows_done")).longValue();
		try (ConfigurableApplicationContext next = this.instances.start("next", "phase=backfill")) {
			await().atMost(Duration.ofSeconds(90)).until(() -> {
				Map<String, Object> progress = progress();
				return "next".equals(progress.get("runner"))
						&& ((Number) progress.get("rows_done")).longValue() > rowsAtKill + 1000;
			});
			assertThat(((Number) progress().get("batch_size")).intValue()).as("batches of the instance that took over")
				.isBetween(50, 120);
			PhaseController controller = next.getBean(PhaseController.class);
			BackfillSettings settings = next.getBean(BackfillParticipant.class)
				.settings(controller.status(MIGRATION).migration());
			assertThat(settings.maxBatchSize()).isEqualTo(120);
			assertThat(settings.minBatchSize()).isEqualTo(50);
		}
	}

	private static Map<String, Object> progress() {
		List<Map<String, Object>> rows = postgres.jdbc().queryForList(PROGRESS);
		return rows.isEmpty() ? null : rows.get(0);
	}

}
