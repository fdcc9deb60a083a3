package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.actuate.endpoint.MigrationDescriptor;
import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.JdbcClientUsers.User;
import dev.zdm.testing.JdbcClientUsers.UserStore;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TwoDatabases;
import dev.zdm.testing.TwoDatabases.RoutedUsers;

import static dev.zdm.testing.TwoDatabases.migrationIds;
import static dev.zdm.testing.TwoDatabases.zdmTables;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for migrations on two databases of one application, each on a PostgreSQL server
 * of its own: {@code billing}, zdm's own data source (this class's database on the shared
 * embedded server), and {@code orders}, this class's database on a second server, which
 * migrations name with {@code zdm.migrations.<id>.data-source}.
 */
class ZdmSeveralDatabasesTests {

	@RegisterExtension
	static final TwoDatabases databases = new TwoDatabases();

	private static final PostgresExtension postgres = databases.billing();

	private final ApplicationContextRunner contextRunner = databases.contextRunner()
		.withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class, ZdmAutoConfiguration.class,
				ZdmDualWriteAutoConfiguration.class, ZdmEndpointAutoConfiguration.class,
				ZdmHealthContributorAutoConfiguration.class, ZdmMetricsAutoConfiguration.class))
		.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
		.withPropertyValues("management.endpoints.web.exposure.include=zdm", "zdm.data-source=billingDataSource");

	@Test
	void aMigrationOnEachDatabaseWalksToContractUnderWritesEachWithItsOwnFleetAndTables() throws Exception {
		LiveWorkload.create(postgres, "invoices", false, 2_000);
		LiveWorkload.create(databases.orders(), "shipments", false, 2_000);
		AtomicReference<PhaseController> billingController = new AtomicReference<>();
		AtomicReference<PhaseController> ordersController = new AtomicReference<>();
		LiveWorkload billingWorkload = new LiveWorkload(postgres, "invoices", false, 2_000,
				LiveWorkload.effectivePhase(billingController, "invoices"), 300);
		LiveWorkload ordersWorkload = new LiveWorkload(databases.orders(), "shipments", false, 2_000,
				LiveWorkload.effectivePhase(ordersController, "shipments"), 300);
		billingWorkload.start(2);
		ordersWorkload.start(2);
		try {
			this.contextRunner.withPropertyValues("zdm.instance-id=two-databases",
					"zdm.migrations.invoices.phase=contract", "zdm.migrations.invoices.table=invoices",
					"zdm.migrations.invoices.up.street_new=street", "zdm.migrations.invoices.up.city_new=upper(city)",
					"zdm.migrations.invoices.backfill.initial-batch-size=200",
					"zdm.migrations.shipments.data-source=ordersDataSource", "zdm.migrations.shipments.phase=contract",
					"zdm.migrations.shipments.table=shipments", "zdm.migrations.shipments.up.street_new=street",
					"zdm.migrations.shipments.up.city_new=upper(city)",
					"zdm.migrations.shipments.backfill.initial-batch-size=200")
				.run((context) -> {
					assertThat(context).hasNotFailed();
					PhaseController billing = context.getBean(PhaseController.class);
					PhaseController other = context.getBean(ZdmEngines.class).controllerFor("shipments");
					assertThat(other).isNotNull().isNotSameAs(billing);
					assertThat(context.getBean(ZdmEngines.class).controllerFor("invoices")).isNull();
					billingController.set(billing);
					ordersController.set(other);
					assertThat(billing.migrations()).extracting("id").containsExactly("invoices");
					assertThat(other.migrations()).extracting("id").containsExactly("shipments");
					ZdmEndpoint endpoint = context.getBean(ZdmEndpoint.class);
					assertThat(endpoint.migrations().migrations()).containsOnlyKeys("invoices", "shipments");
					// a write operation acts where the migration runs, and is recorded
					// there
					assertThat(endpoint
						.tuning("shipments", "backfill", "tuning", "set", null, null, null, null, null, "50000", null,
								null, null, null, null, null, "pace the orders copy", SecurityContext.NONE)
						.overrides()).isNotEmpty();
					await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
						assertThat(billingWorkload.failure()).isNull();
						assertThat(ordersWorkload.failure()).isNull();
						assertThat(contracted(postgres.dataSource(), "invoices")).isTrue();
						assertThat(contracted(databases.orders(), "shipments")).isTrue();
					});
					billingWorkload.awaitMoreWrites(30);
					ordersWorkload.awaitMoreWrites(30);
					assertThat(endpoint.migration("shipments")).isNotNull()
						.extracting(MigrationDescriptor::table, MigrationDescriptor::effectivePhase)
						.containsExactly("public.shipments", "contract");
					assertThat(endpoint.migration("invoices")).isNotNull()
						.extracting(MigrationDescriptor::table, MigrationDescriptor::effectivePhase)
						.containsExactly("public.invoices", "contract");
					Health health = context.getBean(ZdmHealthIndicator.class).health(true);
					assertThat(health.getStatus()).isEqualTo(Status.UP);
					assertThat(health.getDetails()).containsKeys("invoices", "shipments");
					MeterRegistry registry = context.getBean(MeterRegistry.class);
					assertThat(registry.find("zdm.phase.effective").tag("migration", "shipments").gauge()).isNotNull();
					assertThat(registry.find("zdm.phase.effective").tag("migration", "invoices").gauge()).isNotNull();
				});
		}
		finally {
			billingWorkload.stop();
			ordersWorkload.stop();
		}
		assertThat(billingWorkload.failure()).isNull();
		assertThat(ordersWorkload.failure()).isNull();
		assertThat(billingWorkload.lostWrites()).as("lost writes on billing").isZero();
		assertThat(ordersWorkload.lostWrites()).as("lost writes on orders").isZero();
		assertThat(LiveWorkload.disagreeing(postgres, "invoices", false)).as("disagreeing rows on billing").isZero();
		assertThat(LiveWorkload.disagreeing(databases.orders(), "shipments", false)).as("disagreeing rows on orders")
			.isZero();
		assertThat(zdmTables(postgres.dataSource())).contains("zdm_migration", "zdm_instance", "zdm_backfill");
		assertThat(zdmTables(databases.orders())).contains("zdm_migration", "zdm_instance", "zdm_backfill");
		assertThat(migrationIds(postgres.dataSource())).contains("invoices").doesNotContain("shipments");
		assertThat(migrationIds(databases.orders())).contains("shipments").doesNotContain("invoices");
		assertThat(instances(databases.orders())).as("the other engine left its fleet on shutdown").isZero();
		assertThat(actions(databases.orders(), "shipments")).containsExactly("backfill.tuning");
		assertThat(actions(postgres.dataSource(), "shipments")).isEmpty();
	}

	@Test
	void routedRepositoriesOfAMigrationOnTheOtherDatabaseWriteThere() {
		new JdbcTemplate(databases.orders())
			.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		this.contextRunner.withUserConfiguration(RoutedUsers.class)
			.withPropertyValues("zdm.instance-id=orders-users", "zdm.migrations.users-email.phase=dual-write",
					"zdm.migrations.users-email.data-source=ordersDataSource", "zdm.migrations.users-email.table=users",
					"zdm.migrations.users-email.up.email_address=lower(email)",
					"zdm.migrations.users-email.down.email=email_address")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(ZdmEngines.class).controllerFor("users-email");
				assertThat(controller).isNotNull();
				await().atMost(Duration.ofSeconds(30))
					.until(() -> controller.status("users-email").effective() == Phase.DUAL_WRITE);
				UserStore users = context.getBean(UserStore.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(new JdbcTemplate(databases.orders())
					.queryForMap("SELECT email, email_address FROM users WHERE id = 1"))
					.isEqualTo(Map.of("email", "Ann@Example.com", "email_address", "ann@example.com"));
				assertThat(users.findById(1)).map(User::email).contains("Ann@Example.com");
			});
		assertThat(migrationIds(postgres.dataSource())).doesNotContain("users-email");
	}

	@Test
	void aMigrationNamingNoDataSourceBeanFailsStartUpWithTheNamesAndWritesNothing() {
		this.contextRunner
			.withPropertyValues("zdm.instance-id=unknown-source", "zdm.migrations.unknown-source.table=invoices",
					"zdm.migrations.unknown-source.data-source=inventoryDataSource")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(ZdmConfigurationException.class)
					.hasMessageContaining("zdm.migrations.unknown-source.data-source is 'inventoryDataSource', which "
							+ "is not the name of a DataSource bean; the DataSource beans are [ordersDataSource, "
							+ "billingDataSource]");
				assertThat(((ZdmConfigurationException) NestedExceptionUtils.getRootCause(context.getStartupFailure()))
					.getAction())
					.contains("Set zdm.migrations.unknown-source.data-source to the name of the " + "DataSource bean");
			});
		assertThat(migrationIds(postgres.dataSource())).doesNotContain("unknown-source");
		assertThat(migrationIds(databases.orders())).doesNotContain("unknown-source");
	}

	// a judge's migration named a second DataSource bean, on another database than its
	// table's, and the start-up error named no database
	@Test
	void aMigrationWhoseTableIsMissingFromTheDataSourceItNamesSaysWhichDatabaseWasSearched() {
		// each table is on the other database only
		postgres.jdbc().execute("CREATE TABLE IF NOT EXISTS shipping_labels (id bigint PRIMARY KEY, label text)");
		new JdbcTemplate(databases.orders())
			.execute("CREATE TABLE IF NOT EXISTS order_notes (id bigint PRIMARY KEY, note text)");
		String orders = new JdbcTemplate(databases.orders()).queryForObject("SELECT current_database()", String.class);
		String ordersServer = databases.orders().getJdbcUrl().replaceFirst("^jdbc:postgresql://([^/?]+).*$", "$1");
		String billing = postgres.jdbc().queryForObject("SELECT current_database()", String.class);
		// on another engine's data source, and on zdm's own, named
		for (String[] named : List.of(
				new String[] { "ordersDataSource", "shipping_labels", "database " + orders + " on " + ordersServer },
				new String[] { "billingDataSource", "order_notes", "database " + billing + " on " })) {
			this.contextRunner
				.withPropertyValues("zdm.instance-id=labels", "zdm.migrations.labels.table=" + named[1],
						"zdm.migrations.labels.data-source=" + named[0])
				.run((context) -> {
					assertThat(context).hasFailed();
					ZdmConfigurationException failure = (ZdmConfigurationException) NestedExceptionUtils
						.getRootCause(context.getStartupFailure());
					assertThat(failure).hasMessageContaining("Migration 'labels': table '" + named[1] + "' does not "
							+ "exist (searched schemas: public) in data source '" + named[0] + "' (" + named[2]);
					assertThat(failure.getAction()).contains("Check zdm.migrations.labels.data-source: the table is "
							+ "looked up in the database of the data source it names, and no other.");
				});
		}
		assertThat(migrationIds(postgres.dataSource())).doesNotContain("labels");
		assertThat(migrationIds(databases.orders())).doesNotContain("labels");
	}

	private static boolean contracted(DataSource dataSource, String id) {
		return Boolean.TRUE.equals(new JdbcTemplate(dataSource).queryForObject(
				"SELECT count(*) = 1 FROM zdm_migration WHERE migration_id = ? AND contracted_at IS NOT NULL",
				Boolean.class, id));
	}

	private static List<String> actions(DataSource dataSource, String id) {
		return new JdbcTemplate(dataSource).queryForList(
				"SELECT action FROM zdm_operator_action WHERE migration_id = ? ORDER BY action_id", String.class, id);
	}

	private static long instances(DataSource dataSource) {
		// members: an instance that left is kept, marked, until it is purged
		return new JdbcTemplate(dataSource).queryForObject("SELECT count(*) FROM zdm_instance WHERE left_at IS NULL",
				Long.class);
	}

}
