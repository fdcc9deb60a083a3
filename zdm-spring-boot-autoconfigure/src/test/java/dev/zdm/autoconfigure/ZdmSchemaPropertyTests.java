package dev.zdm.autoconfigure;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@code zdm.schema}: zdm's own tables in a schema of their own.
 */
class ZdmSchemaPropertyTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class,
				ZdmEndpointAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("management.endpoints.web.exposure.include=zdm");

	@Test
	void migrationWalksToContractUnderWritesWithZdmsTablesInTheirSchemaOnly() throws Exception {
		LiveWorkload.create(postgres, "ops_orders", false, 2_000);
		AtomicReference<PhaseController> controller = new AtomicReference<>();
		LiveWorkload workload = new LiveWorkload(postgres, "ops_orders", false, 2_000,
				LiveWorkload.effectivePhase(controller, "ops-orders"), 300);
		workload.start(2);
		try {
			this.contextRunner
				.withPropertyValues("zdm.schema=ops", "zdm.instance-id=ops-a",
						"zdm.migrations.ops-orders.phase=contract", "zdm.migrations.ops-orders.table=ops_orders",
						"zdm.migrations.ops-orders.up.street_new=street",
						"zdm.migrations.ops-orders.up.city_new=upper(city)",
						"zdm.migrations.ops-orders.backfill.initial-batch-size=200",
						"zdm.migrations.ops-orders.backfill.verification-pause=10ms")
				.run((context) -> {
					assertThat(context).hasNotFailed();
					controller.set(context.getBean(PhaseController.class));
					workload.awaitContracted(context.getBean(MigrationStateRepository.class), "ops-orders");
					assertThat(context.getBean(ZdmEndpoint.class).migration("ops-orders")).isNotNull();
				});
		}
		finally {
			workload.stop();
		}
		assertThat(workload.failure()).isNull();
		assertThat(workload.lostWrites()).as("lost writes").isZero();
		assertThat(LiveWorkload.disagreeing(postgres, "ops_orders", false)).as("disagreeing rows").isZero();
		assertThat(zdmTables("public")).as("zdm's tables in public").isEmpty();
		assertThat(zdmTables("ops")).contains("zdm_migration", "zdm_instance", "zdm_backfill",
				"zdm_backfill_verification", "zdm_ddl_step", "zdm_ddl_statement", "zdm_schema_history");
		assertThat(postgres.jdbc()
			.queryForObject("SELECT contracted_at IS NOT NULL FROM ops.zdm_migration WHERE migration_id = 'ops-orders'",
					Boolean.class))
			.isTrue();
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM ops.zdm_backfill_verification WHERE migration_id = 'ops-orders' "
					+ "AND succeeded", Integer.class))
			.isPositive();
	}

	@Test
	void aSchemaThatExistsAlreadyIsUsedAsItIs() {
		postgres.jdbc().execute("CREATE SCHEMA made_by_dba");
		postgres.jdbc().execute("CREATE TABLE made_by_dba.kept (id int)");
		this.contextRunner.withPropertyValues("zdm.schema=made_by_dba", "zdm.instance-id=dba-a").run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(zdmTables("made_by_dba")).contains("zdm_migration", "zdm_schema_history");
		});
		assertThat(postgres.jdbc().queryForObject("SELECT to_regclass('made_by_dba.kept') IS NOT NULL", Boolean.class))
			.isTrue();
	}

	@Test
	void aSchemaNameThatIsNotAnIdentifierFailsStartUpAndCreatesNothing() {
		this.contextRunner.withPropertyValues("zdm.schema=ops; DROP TABLE x", "zdm.instance-id=bad-a")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(ZdmConfigurationException.class)
					.hasMessageContaining("zdm.schema 'ops; DROP TABLE x' is not a plain SQL identifier");
			});
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ops;%'", Integer.class)).isZero();
	}

	@Test
	void statementsNameZdmsTablesInTheSchemaAndLeaveOtherNamesAlone() {
		ZdmTables tables = ZdmTables.inSchema("ops");
		assertThat(tables.qualify("UPDATE zdm_backfill SET state = ? FROM zdm_backfill_override o, zdm_copy c "
				+ "WHERE zdm_sync_orders() AND to_regclass('zdm_migration') IS NOT NULL"))
			.isEqualTo("UPDATE \"ops\".zdm_backfill SET state = ? FROM \"ops\".zdm_backfill_override o, zdm_copy c "
					+ "WHERE zdm_sync_orders() AND to_regclass('\"ops\".zdm_migration') IS NOT NULL");
		assertThat(ZdmTables.DEFAULT.qualify("SELECT * FROM zdm_migration")).isEqualTo("SELECT * FROM zdm_migration");
	}

	private static List<String> zdmTables(String schema) {
		return postgres.jdbc()
			.queryForList("SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
					+ "AND table_name LIKE 'zdm\\_%' ORDER BY table_name", String.class, schema);
	}

}
