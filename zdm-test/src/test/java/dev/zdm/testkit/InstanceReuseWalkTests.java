package dev.zdm.testkit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;

import org.springframework.context.ApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.customers.CustomerRepository;

import static dev.zdm.testkit.CrossTableWalkTests.createCustomers;
import static dev.zdm.testkit.CrossTableWalkTests.crud;
import static dev.zdm.testkit.CrossTableWalkTests.customers;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the instance {@link PhaseWalk#run()} moves from {@code dual-write} on to
 * {@code backfill} without a restart: it really runs at {@code backfill} (requested and
 * effective, in its controller, its environment and the fleet's table), routes an
 * acknowledged write to both sides, and runs the backfill; and
 * {@link PhaseWalk#restartEveryPhase()} starts an instance at every phase instead.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class InstanceReuseWalkTests {

	private static final String MIGRATION = "customers-address";

	@Test
	void backfillRunsOnTheDualWriteInstanceMovedOnWithWritesRoutedToBothSides(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		Map<Phase, ApplicationContext> contexts = new LinkedHashMap<>();
		Map<Phase, String> instances = new LinkedHashMap<>();
		Map<Phase, String> requested = new LinkedHashMap<>();
		WalkReport report = customers(walk).scenario((step) -> {
			contexts.put(step.phase(), step.context());
			instances.put(step.phase(), step.instance());
			MigrationStatus status = step.getBean(PhaseController.class).status(MIGRATION);
			assertThat(status.requested()).as("requested at %s", step.phase()).isEqualTo(step.phase());
			assertThat(status.effective()).as("effective at %s", step.phase()).isEqualTo(step.phase());
			requested.put(step.phase(),
					step.context().getEnvironment().getProperty("zdm.migrations." + MIGRATION + ".phase"));
			if (step.phase() == Phase.DUAL_WRITE || step.phase() == Phase.BACKFILL) {
				assertAcknowledgedWriteReachesBothSides(step);
			}
			if (step.phase() == Phase.BACKFILL) {
				assertThat(step.jdbc()
					.queryForObject(
							"SELECT requested_phase || ' ' || effective_phase FROM zdm_instance "
									+ "WHERE instance_id = 'walk-walk-dual-write' AND migration_id = ?",
							String.class, MIGRATION))
					.as("the moved instance in the fleet")
					.isEqualTo("backfill backfill");
			}
			crud(step, new ConcurrentHashMap<>());
		}).run();
		assertThat(contexts.get(Phase.BACKFILL)).as("the backfill's context").isSameAs(contexts.get(Phase.DUAL_WRITE));
		assertThat(Set.copyOf(contexts.values())).as("distinct contexts").hasSize(Phase.steps().size() - 1);
		assertThat(instances).containsEntry(Phase.DUAL_WRITE, "walk-walk-dual-write")
			.containsEntry(Phase.BACKFILL, "walk-walk-dual-write, moved to backfill")
			.containsEntry(Phase.READ_NEW, "walk-walk-read-new");
		assertThat(requested).containsEntry(Phase.DUAL_WRITE, "dual-write").containsEntry(Phase.BACKFILL, "backfill");
		assertThat(report.applicationStartCount()).isEqualTo(Phase.steps().size() - 1);
		BackfillProgress backfill = report.backfillProgress(MIGRATION);
		assertThat(backfill).isNotNull();
		assertThat(backfill.rowsUpdated()).as("addresses the moved instance's backfill copied").isPositive();
	}

	@Test
	void restartEveryPhaseStartsAnInstanceAtEveryPhase(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		Map<Phase, ApplicationContext> contexts = new LinkedHashMap<>();
		Map<Phase, String> instances = new LinkedHashMap<>();
		WalkReport report = customers(walk).restartEveryPhase().scenario((step) -> {
			contexts.put(step.phase(), step.context());
			instances.put(step.phase(), step.instance());
			crud(step, new ConcurrentHashMap<>());
		}).run();
		assertThat(Set.copyOf(contexts.values())).as("distinct contexts").hasSize(Phase.steps().size());
		assertThat(instances).containsEntry(Phase.BACKFILL, "walk-walk-backfill");
		assertThat(report.applicationStartCount()).isEqualTo(Phase.steps().size());
	}

	/**
	 * Create a customer through the routed repository and read both sides back from the
	 * database: at {@code dual-write} and {@code backfill} the write reaches the old
	 * columns and the new table in one transaction.
	 */
	private static void assertAcknowledgedWriteReachesBothSides(PhaseStep step) {
		long id = step.getBean(CustomerRepository.class)
			.create("Routed " + step.phase(), step.phase() + " Road", "Lyon " + step.phase());
		JdbcTemplate jdbc = step.jdbc();
		assertThat(jdbc.queryForObject("SELECT address_city FROM customers WHERE id = ?", String.class, id))
			.as("old side at %s", step.phase())
			.isEqualTo("Lyon " + step.phase());
		assertThat(jdbc.queryForList("SELECT city FROM customer_addresses WHERE customer_id = ?", String.class, id))
			.as("new side at %s", step.phase())
			.containsExactly(("Lyon " + step.phase()).toUpperCase(java.util.Locale.ROOT));
	}

}
