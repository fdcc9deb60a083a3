package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.MigrationStateRepository;
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
 * Tests for the choice of the {@link DataSource} zdm runs on when the application has
 * two, each on a PostgreSQL server of its own: {@code billing}, this class's database on
 * the shared embedded server, and {@code orders}, this class's database on a second
 * server.
 */
class ZdmDataSourceSelectionTests {

	@RegisterExtension
	static final TwoDatabases databases = new TwoDatabases();

	private static final PostgresExtension postgres = databases.billing();

	private final ApplicationContextRunner contextRunner = databases.contextRunner()
		.withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class, ZdmDualWriteAutoConfiguration.class));

	@BeforeAll
	static void createOrdersTable() {
		new JdbcTemplate(databases.orders()).execute("CREATE TABLE invoices (id bigint PRIMARY KEY, street text)");
	}

	@Test
	void migrationWalksToContractUnderWritesOnTheDataSourceZdmDataSourceNamesAndNothingOnTheOther() throws Exception {
		// the same table name on both servers: only billing's is migrated
		LiveWorkload.create(postgres, "invoices", false, 2_000);
		AtomicReference<PhaseController> controller = new AtomicReference<>();
		LiveWorkload workload = new LiveWorkload(postgres, "invoices", false, 2_000,
				LiveWorkload.effectivePhase(controller, "invoices"), 300);
		workload.start(2);
		try {
			this.contextRunner.withPropertyValues("zdm.data-source=billingDataSource", "zdm.instance-id=billing-a",
					"zdm.migrations.invoices.phase=contract", "zdm.migrations.invoices.table=invoices",
					"zdm.migrations.invoices.up.street_new=street", "zdm.migrations.invoices.up.city_new=upper(city)",
					"zdm.migrations.invoices.backfill.initial-batch-size=200")
				.run((context) -> {
					assertThat(context).hasNotFailed();
					controller.set(context.getBean(PhaseController.class));
					workload.awaitContracted(context.getBean(MigrationStateRepository.class), "invoices");
				});
		}
		finally {
			workload.stop();
		}
		assertThat(workload.failure()).isNull();
		assertThat(workload.lostWrites()).as("lost writes").isZero();
		assertThat(LiveWorkload.disagreeing(postgres, "invoices", false)).as("disagreeing rows").isZero();
		assertThat(zdmTables(postgres.dataSource())).contains("zdm_migration", "zdm_instance", "zdm_backfill");
		assertThat(zdmTables(databases.orders())).as("zdm's tables on the other server").isEmpty();
		assertThat(new JdbcTemplate(databases.orders()).queryForList(
				"SELECT column_name FROM information_schema.columns WHERE table_name = 'invoices' ORDER BY 1",
				String.class))
			.containsExactly("id", "street");
	}

	@Test
	void routedRepositoriesWriteInTheNamedDataSourcesDatabase() {
		postgres.jdbc()
			.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		this.contextRunner.withUserConfiguration(RoutedUsers.class)
			.withPropertyValues("zdm.data-source=billingDataSource", "zdm.instance-id=billing-users",
					"zdm.migrations.users-email.phase=dual-write", "zdm.migrations.users-email.table=users",
					"zdm.migrations.users-email.up.email_address=lower(email)",
					"zdm.migrations.users-email.down.email=email_address")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(30))
					.until(() -> controller.status("users-email").effective() == Phase.DUAL_WRITE);
				UserStore users = context.getBean(UserStore.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(postgres.jdbc().queryForMap("SELECT email, email_address FROM users WHERE id = 1"))
					.isEqualTo(Map.of("email", "Ann@Example.com", "email_address", "ann@example.com"));
				assertThat(users.findById(1)).map(User::email).contains("Ann@Example.com");
			});
	}

	@Test
	void thePrimaryDataSourceIsUsedWithoutTheSetting() {
		postgres.jdbc().execute("CREATE TABLE primary_notes (id bigint PRIMARY KEY, body text, body_new text)");
		databases.contextRunner((bean) -> bean.setPrimary(true))
			.withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class))
			.withPropertyValues("zdm.instance-id=primary-a", "zdm.migrations.primary-notes.phase=dual-write",
					"zdm.migrations.primary-notes.table=primary_notes", "zdm.migrations.primary-notes.up.body_new=body")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(30))
					.until(() -> controller.status("primary-notes").effective() == Phase.DUAL_WRITE);
				assertThat(context.getBean(ZdmDataSource.class).beanName()).isEqualTo("billingDataSource");
			});
		assertThat(zdmTables(databases.orders())).as("zdm's tables on the other server").isEmpty();
	}

	@Test
	void severalDataSourcesWithMigrationsAndNoneChosenFailStartUpSayingToSetZdmDataSource() {
		this.contextRunner
			.withPropertyValues("zdm.instance-id=unchosen", "zdm.migrations.unchosen.table=invoices",
					"zdm.migrations.unchosen.phase=dual-write")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(ZdmConfigurationException.class)
					.hasMessageContaining("2 DataSource beans [ordersDataSource, billingDataSource], none of them "
							+ "primary, and zdm.data-source does not say which one zdm runs on");
				assertThat(((ZdmConfigurationException) NestedExceptionUtils.getRootCause(context.getStartupFailure()))
					.getAction()).contains("Set zdm.data-source to the name of the DataSource bean");
			});
		assertThat(zdmTables(databases.orders())).isEmpty();
		assertThat(migrationIds(postgres.dataSource())).doesNotContain("unchosen");
	}

	@Test
	void severalDataSourcesWithoutMigrationsOrChoiceBackOff() {
		this.contextRunner.withPropertyValues("zdm.instance-id=idle")
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PhaseController.class));
	}

	@Test
	void aNameThatIsNoDataSourceFailsStartUpListingThem() {
		this.contextRunner
			.withPropertyValues("zdm.data-source=inventoryDataSource", "zdm.instance-id=unknown",
					"zdm.migrations.unknown.table=invoices")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(ZdmConfigurationException.class)
					.hasMessageContaining("zdm.data-source is 'inventoryDataSource', which is not the name of a "
							+ "DataSource bean; the DataSource beans are [ordersDataSource, billingDataSource]");
			});
		assertThat(zdmTables(databases.orders())).isEmpty();
		assertThat(migrationIds(postgres.dataSource())).doesNotContain("unknown");
	}

}
