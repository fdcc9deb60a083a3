package dev.zdm.autoconfigure;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link ZdmAutoConfiguration}.
 */
class ZdmAutoConfigurationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, FlywayAutoConfiguration.class,
				ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("spring.flyway.locations=classpath:db/test-app");

	@Test
	void backsOffWithoutADataSource() {
		new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(ZdmAutoConfiguration.class))
			.withPropertyValues("zdm.migrations.users-email.table=users")
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PhaseController.class));
	}

	@Test
	void backsOffWhenDisabled() {
		this.contextRunner.withPropertyValues("zdm.enabled=false", "zdm.migrations.users-email.table=users")
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(PhaseController.class));
	}

	@Test
	void backsOffWithoutFlyway() {
		this.contextRunner.withClassLoader(new FilteredClassLoader("org.flywaydb.core"))
			.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
			.run((context) -> assertThat(context).doesNotHaveBean(PhaseController.class));
	}

	@Test
	void joinsTheFleetAfterTheApplicationsOwnMigrationsAndLeavesOnClose() {
		this.contextRunner
			.withPropertyValues("zdm.instance-id=app-1", "zdm.application-version=1.2.3",
					"zdm.migrations.users-email.phase=dual-write", "zdm.migrations.users-email.table=users",
					"zdm.migrations.users-email.up.email_address=lower(email)",
					"zdm.migrations.users-email.down.email=email_address")
			.run((context) -> {
				assertThat(context).hasNotFailed().hasSingleBean(PhaseController.class);
				PhaseController controller = context.getBean(PhaseController.class);
				// The expand (the sync trigger) runs in the background; the phase moves
				// on once it is done.
				await().atMost(Duration.ofSeconds(30)).until(() -> {
					controller.refresh();
					return controller.effectivePhase("users-email") == Phase.DUAL_WRITE;
				});
				assertThat(controller.status("users-email").migration().key()).extracting(Object::toString)
					.containsExactly("id");
				assertThat(controller.status("users-email").migration().table()).hasToString("public.users");
				assertThat(context.getBean(InstanceInfo.class).applicationVersion()).isEqualTo("1.2.3");
				assertThat(instanceRows("app-1")).isEqualTo(1);
			});
		assertThat(instanceRows("app-1")).isZero();
		assertThat(new JdbcTemplate(postgres.dataSource())
			.queryForObject("SELECT count(*) FROM flyway_schema_history WHERE script LIKE '%zdm%'", Integer.class))
			.as("zdm's own migrations never go into the application's history")
			.isZero();
	}

	@Test
	void earlierPhaseAfterContractFailsStartUpWithAnAnalysis() {
		String id = "contracted-one";
		this.contextRunner
			.withPropertyValues("zdm.migrations." + id + ".phase=contract", "zdm.migrations." + id + ".table=users")
			.run((context) -> assertThat(context).hasNotFailed());
		new MigrationStateRepository(postgres.dataSource()).markContracted(id, "somebody");
		this.contextRunner
			.withPropertyValues("zdm.instance-id=late", "zdm.migrations." + id + ".phase=read-new",
					"zdm.migrations." + id + ".table=users")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(context.getStartupFailure()).rootCause()
					.isInstanceOf(ZdmConfigurationException.class)
					.hasMessageContaining("requests phase read-new, but its contract DDL already ran");
				assertThat(instanceRows("late")).isZero();
			});
	}

	private static int instanceRows(String instanceId) {
		Integer count = new JdbcTemplate(postgres.dataSource()).queryForObject(
				"SELECT count(*) FROM zdm_instance WHERE instance_id = ? AND left_at IS NULL", Integer.class,
				instanceId);
		return (count != null) ? count : 0;
	}

}
