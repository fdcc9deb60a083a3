package dev.zdm.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.ddl.ContractRunner;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for zdm's DDL run as a login role of its own, as production databases are often
 * set up: the tables belong to a migrator role (the one Flyway runs as,
 * {@code spring.flyway.user}), and the application's role may only read and write rows.
 * Before, zdm ran its DDL as the application's role: the expand failed with
 * {@code must be owner of table} and was retried for as long as the application ran, and
 * a contract claimed while the role could not run it was retried every 10 s, the fleet
 * contracted and the old columns unguarded.
 */
@ExtendWith(OutputCaptureExtension.class)
@org.junit.jupiter.api.parallel.Isolated
class DdlRoleTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String OWNER = "zdm_roles_owner";

	private static final String APP = "zdm_roles_app";

	private static final String ZDM_SCHEMA = "zdm_roles_ops";

	private static HikariDataSource application;

	@TempDir
	Path scripts;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class, ZdmDualWriteAutoConfiguration.class,
				ZdmHealthContributorAutoConfiguration.class))
		.withBean("dataSource", DataSource.class, () -> application, (bean) -> bean.setDestroyMethodName(""))
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("zdm.schema=" + ZDM_SCHEMA);

	@BeforeAll
	static void roles() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE ROLE " + OWNER + " LOGIN PASSWORD 'owner'");
		jdbc.execute("CREATE ROLE " + APP + " LOGIN PASSWORD 'app'");
		// the owner creates zdm's sync function beside its tables; the application's role
		// has a schema for zdm's own tables, and may not create in public (PostgreSQL
		// 15+)
		jdbc.execute("GRANT CREATE ON SCHEMA public TO " + OWNER);
		jdbc.execute("CREATE SCHEMA " + ZDM_SCHEMA + " AUTHORIZATION " + APP);
		HikariConfig config = postgres.database().newPoolConfig("roles-app", 6);
		// the embedded server's URL names its superuser, which the driver would take
		config.setJdbcUrl(ZdmDataSource.withoutCredentials(config.getJdbcUrl()));
		config.setUsername(APP);
		config.setPassword("app");
		// as Spring Boot's pool is with Micrometer: the DDL pool's copy of it failed on
		// it
		config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(new SimpleMeterRegistry()));
		application = new HikariDataSource(config);
	}

	@AfterAll
	static void closePool() {
		application.close();
	}

	private static void ownedTable(String table) {
		LiveWorkload.create(postgres, table, false, 2_000);
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("ALTER TABLE " + table + " OWNER TO " + OWNER);
		jdbc.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON " + table + " TO " + APP);
	}

	@Test
	void anApplicationRoleThatOwnsNoTableIsRefusedAtStartUpAndNothingIsWritten() {
		ownedTable("roles_refused");
		postgres.jdbc().execute("CREATE SCHEMA zdm_roles_refused AUTHORIZATION " + APP);
		this.contextRunner
			.withPropertyValues("zdm.schema=zdm_roles_refused", "zdm.migrations.refused.phase=dual-write",
					"zdm.migrations.refused.table=roles_refused", "zdm.migrations.refused.up.street_new=street",
					"zdm.migrations.refused.up.city_new=upper(city)")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(ZdmConfigurationException.class)
					.hasMessageContaining("the role '" + APP + "' that runs zdm's DDL does not own table "
							+ "public.roles_refused (its owner is '" + OWNER + "'")
					.hasMessageContaining("so its expand cannot run");
				assertThat(((ZdmConfigurationException) context.getStartupFailure().getCause()).getAction())
					.contains("zdm.ddl.user", "spring.flyway.user", "GRANT <owner> TO <that role>", "OWNER TO");
			});
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_tables WHERE schemaname = 'zdm_roles_refused'", Long.class))
			.as("zdm's tables")
			.isZero();
		assertThat(triggers("roles_refused")).isEmpty();
	}

	@Test
	void theDdlRunsAsFlywaysRoleAndTheMigrationWalksToContractUnderWrites(CapturedOutput output) throws Exception {
		ownedTable("roles_walked");
		Path expand = Files.createDirectories(this.scripts.resolve("expand"));
		Files.writeString(expand.resolve("V1__index.sql"),
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS roles_walked_city_new ON roles_walked (city_new);\n");
		Path contract = Files.createDirectories(this.scripts.resolve("contract"));
		Files.writeString(contract.resolve("V1__index.sql"),
				"DROP INDEX CONCURRENTLY IF EXISTS roles_walked_city_new;\n");
		AtomicReference<PhaseController> controller = new AtomicReference<>();
		LiveWorkload workload = new LiveWorkload(postgres, "roles_walked", false, 2_000,
				LiveWorkload.effectivePhase(controller, "walked"), 300);
		workload.start(2);
		try {
			this.contextRunner.withPropertyValues("spring.flyway.user=" + OWNER, "spring.flyway.password=owner",
					"zdm.instance-id=roles-walked", "zdm.migrations.walked.phase=contract",
					"zdm.migrations.walked.expand=filesystem:" + expand,
					"zdm.migrations.walked.contract=filesystem:" + contract, "zdm.migrations.walked.table=roles_walked",
					"zdm.migrations.walked.up.street_new=street", "zdm.migrations.walked.up.city_new=upper(city)",
					"zdm.migrations.walked.backfill.initial-batch-size=200")
				.run((context) -> {
					assertThat(context).hasNotFailed();
					controller.set(context.getBean(PhaseController.class));
					await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
						assertThat(workload.failure()).isNull();
						assertThat(contracted("walked")).isTrue();
						assertThat(stepDone("walked", "contract")).isTrue();
					});
					workload.awaitMoreWrites(30);
				});
		}
		finally {
			workload.stop();
		}
		assertThat(workload.failure()).isNull();
		assertThat(workload.lostWrites()).as("lost writes").isZero();
		assertThat(output).contains("runs its DDL (expand, contract, abandon) as role '" + OWNER
				+ "' (spring.flyway.user), the rest on the application's data source");
		// the sync trigger, created by the expand and dropped by the contract: the
		// application's role may do neither
		assertThat(postgres.jdbc()
			.queryForList("SELECT DISTINCT step || ' ' || state FROM " + ZDM_SCHEMA + ".zdm_ddl_statement "
					+ "WHERE migration_id = 'walked'", String.class))
			.containsExactlyInAnyOrder("expand applied", "contract applied");
		assertThat(
				postgres.jdbc()
					.queryForObject("SELECT count(*) FROM " + ZDM_SCHEMA
							+ ".zdm_ddl_statement WHERE migration_id = 'walked' " + "AND source LIKE 'V1__%'",
							Long.class))
			.as("the scripts' statements")
			.isEqualTo(2);
		assertThat(triggers("roles_walked")).isEmpty();
		// the scripts ran as the owner too, recorded by Flyway in tables of the owner's
		assertThat(
				postgres.jdbc()
					.queryForList("SELECT tableowner FROM pg_tables WHERE tablename IN ('zdm_ddl_expand_walked', "
							+ "'zdm_ddl_contract_walked', 'roles_walked')", String.class))
			.containsExactly(OWNER, OWNER, OWNER);
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_indexes WHERE indexname = 'roles_walked_city_new'", Long.class))
			.as("built by the expand, dropped by the contract")
			.isZero();
	}

	@Test
	void aContractWaitsWithoutBeingClaimedWhileItsRoleMayNotAlterTheTableAndRunsOnceItMay(CapturedOutput output)
			throws Exception {
		ownedTable("roles_held");
		String[] migration = { "zdm.ddl.user=" + OWNER, "zdm.ddl.password=owner", "zdm.instance-id=roles-held",
				"zdm.migrations.held.table=roles_held", "zdm.migrations.held.up.street_new=street",
				"zdm.migrations.held.up.city_new=upper(city)" };
		this.contextRunner.withPropertyValues(migration)
			.withPropertyValues("zdm.migrations.held.phase=read-new")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(60))
					.until(() -> controller.status("held").effective() == Phase.READ_NEW);
			});
		// a DBA hands the table to another role between two deploys
		postgres.jdbc().execute("ALTER TABLE roles_held OWNER TO " + postgres.database().username());
		this.contextRunner.withPropertyValues(migration)
			.withPropertyValues("zdm.migrations.held.phase=contract")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				ContractRunner contract = context.getBean(ContractRunner.class);
				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(contract.stepHeldBack("held"))
						.contains("the role '" + OWNER + "' that runs zdm's DDL does not own table public.roles_held")
						.contains("zdm.ddl.user"));
				Thread.sleep(TestFleet.HEARTBEAT_INTERVAL.toMillis() * 4);
				assertThat(contracted("held")).as("claimed").isFalse();
				// health tells it too: nothing changes it but an operator
				Health health = context.getBean(ZdmHealthIndicator.class).health(true);
				assertThat(health.getStatus()).isEqualTo(Status.UP);
				assertThat(String.valueOf(health.getDetails().get("held")))
					.contains("problems=[the contract DDL waits: the role '" + OWNER + "'");
				assertThat(triggers("roles_held")).as("the sync trigger keeps the old side written").isNotEmpty();
				postgres.jdbc().execute("ALTER TABLE roles_held OWNER TO " + OWNER);
				await().atMost(Duration.ofSeconds(60)).until(() -> stepDone("held", "contract"));
			});
		assertThat(contracted("held")).isTrue();
		assertThat(triggers("roles_held")).isEmpty();
		assertThat(output).contains("zdm: migration 'held': the role '" + OWNER + "' that runs zdm's DDL does not own "
				+ "table public.roles_held", "its expand has run, and its contract waits until the role may");
	}

	@Test
	void aTargetTableTheExpandCreatesUnwritableByTheApplicationHoldsTheMigrationAtExpandUntilGranted()
			throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE roles_orders (id bigint PRIMARY KEY, street text)");
		jdbc.execute("INSERT INTO roles_orders SELECT i, 'street ' || i FROM generate_series(1, 100) i");
		jdbc.execute("ALTER TABLE roles_orders OWNER TO " + OWNER);
		jdbc.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON roles_orders TO " + APP);
		Path expand = Files.createDirectories(this.scripts.resolve("moved"));
		// created by the owner, with no grant to the application's role
		Files.writeString(expand.resolve("V1__addresses.sql"),
				"CREATE TABLE roles_order_addresses (order_id bigint PRIMARY KEY, street text);\n");
		this.contextRunner
			.withPropertyValues("zdm.ddl.user=" + OWNER, "zdm.ddl.password=owner", "zdm.instance-id=roles-moved",
					"zdm.migrations.moved.phase=dual-write", "zdm.migrations.moved.table=roles_orders",
					"zdm.migrations.moved.target-table=roles_order_addresses",
					"zdm.migrations.moved.target-key=order_id", "zdm.migrations.moved.up.street=street",
					"zdm.migrations.moved.expand=filesystem:" + expand)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				ExpandRunner expandRunner = context.getBean(ExpandRunner.class);
				await().atMost(Duration.ofSeconds(30))
					.untilAsserted(() -> assertThat(String.valueOf(expandRunner.expandProgress("moved")))
						.contains("the application's role '" + APP + "' may not SELECT, INSERT, UPDATE, DELETE rows "
								+ "of target table 'public.roles_order_addresses'"));
				Thread.sleep(TestFleet.HEARTBEAT_INTERVAL.toMillis() * 4);
				assertThat(controller.status("moved").effective()).as("no write of the application fails")
					.isEqualTo(Phase.EXPAND);
				jdbc.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON roles_order_addresses TO " + APP);
				await().atMost(Duration.ofSeconds(60))
					.until(() -> controller.status("moved").effective() == Phase.DUAL_WRITE);
			});
		assertThat(jdbc.queryForObject("SELECT tableowner FROM pg_tables WHERE tablename = 'roles_order_addresses'",
				String.class))
			.isEqualTo(OWNER);
	}

	private static boolean contracted(String id) {
		return Boolean.TRUE.equals(postgres.jdbc()
			.queryForObject("SELECT count(*) = 1 FROM " + ZDM_SCHEMA + ".zdm_migration WHERE migration_id = ? "
					+ "AND contracted_at IS NOT NULL", Boolean.class, id));
	}

	private static boolean stepDone(String id, String step) {
		return Boolean.TRUE.equals(postgres.jdbc()
			.queryForObject("SELECT count(*) > 0 FROM " + ZDM_SCHEMA + ".zdm_ddl_step WHERE migration_id = ? "
					+ "AND step = ? AND state = 'done'", Boolean.class, id, step));
	}

	private static List<String> triggers(String table) {
		return postgres.jdbc()
			.queryForList("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(?) AND NOT tgisinternal",
					String.class, table);
	}

}
