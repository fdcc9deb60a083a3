package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcClientAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;

import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.autoconfigure.ZdmDualWriteAutoConfiguration;
import dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration;
import dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration;
import dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration;
import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;
import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that the switches turning a part of zdm off (the backfill, the endpoint, the
 * health contributor, the metrics) leave an application with routed repositories
 * runnable, routed by the phase controller.
 */
class ZdmNarrowerSwitchesTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static JdbcTemplate jdbc;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
				DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
				JdbcTemplateAutoConfiguration.class, JdbcClientAutoConfiguration.class, MetricsAutoConfiguration.class,
				ZdmAutoConfiguration.class, ZdmDualWriteAutoConfiguration.class, ZdmEndpointAutoConfiguration.class,
				ZdmHealthContributorAutoConfiguration.class, ZdmMetricsAutoConfiguration.class))
		.withUserConfiguration(UsersConfiguration.class)
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("management.endpoints.web.exposure.include=zdm", "zdm.migrations.users-email.table=users",
				"zdm.migrations.users-email.up.email_address=lower(email)",
				"zdm.migrations.users-email.down.email=email_address");

	@BeforeAll
	static void createTable() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		jdbc.update("INSERT INTO users (id, name, email) SELECT i, 'user ' || i, 'User' || i || '@Example.com' "
				+ "FROM generate_series(1001, 1100) AS i");
	}

	@Test
	void backfillDisabledLeavesRoutingRunnableAndReadNewHeldBack() {
		this.contextRunner.withBean(HeartbeatCounter.class, HeartbeatCounter::new)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=read-new",
					"zdm.migrations.users-email.backfill.enabled=false")
			.run((context) -> {
				assertThat(context).hasNotFailed().hasSingleBean(PhaseController.class);
				PhaseController controller = context.getBean(PhaseController.class);
				// The phase climbs one step per heartbeat, then stays at backfill with
				// its reason.
				await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
					assertThat(controller.effectivePhase("users-email")).isEqualTo(Phase.BACKFILL);
					assertThat(controller.status("users-email").heldBackReason())
						.contains("read-new needs a verified backfill");
				});
				Users users = context.getBean(Users.class);
				users.insert(new User(1, "Ann", "Ann@Example.com"));
				assertThat(row(1)).containsEntry("email", "Ann@Example.com")
					.containsEntry("email_address", "ann@example.com");
				users.updateEmail(1, "Bea@Example.com");
				assertThat(row(1)).containsEntry("email_address", "bea@example.com");
				assertThat(users.findById(1)).map(User::email).contains("Bea@Example.com");
				users.deleteById(1);
				assertThat(jdbc.queryForObject("SELECT count(*) FROM users WHERE id = 1", Integer.class)).isZero();
				// each heartbeat gives a backfill its chance to start, and the phase its
				// chance to move on
				context.getBean(HeartbeatCounter.class).awaitHeartbeats(5);
				assertThat(jdbc.queryForObject("SELECT count(*) FROM users WHERE id > 1000 AND email_address IS NULL",
						Integer.class))
					.as("rows no backfill copied")
					.isEqualTo(100);
				assertThat(controller.effectivePhase("users-email")).isEqualTo(Phase.BACKFILL);
			});
	}

	@Test
	void endpointHealthAndMetricsOffLeaveRoutingRunnable() {
		this.contextRunner.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write")
			.run((context) -> assertThat(context).hasSingleBean(ZdmEndpoint.class)
				.hasSingleBean(ZdmHealthIndicator.class)
				.hasSingleBean(ZdmMetrics.class));
		this.contextRunner
			.withPropertyValues(instance(), "zdm.migrations.users-email.phase=dual-write",
					"management.endpoint.zdm.access=NONE", "management.health.zdm.enabled=false")
			.run((context) -> {
				assertThat(context).hasNotFailed()
					.hasSingleBean(PhaseController.class)
					.doesNotHaveBean(ZdmEndpoint.class)
					.doesNotHaveBean(ZdmHealthIndicator.class)
					.doesNotHaveBean(ZdmMetrics.class);
				Users users = context.getBean(Users.class);
				users.insert(new User(2, "Bob", "Bob@Example.com"));
				assertThat(row(2)).containsEntry("email", "Bob@Example.com")
					.containsEntry("email_address", "bob@example.com");
				assertThat(users.findById(2)).map(User::email).contains("Bob@Example.com");
				users.deleteById(2);
			});
	}

	private static String instance() {
		return "zdm.instance-id=switches-" + UUID.randomUUID();
	}

	private static Map<String, Object> row(long id) {
		return jdbc.queryForMap("SELECT email, email_address FROM users WHERE id = ?", id);
	}

	record User(long id, String name, String email) {
	}

	/** The application's repository interface. */
	interface Users {

		Optional<User> findById(long id);

		void insert(User user);

		void updateEmail(long id, String email);

		void deleteById(long id);

	}

	static class ColumnUsers implements Users {

		private final JdbcClient jdbc;

		private final String emailColumn;

		ColumnUsers(JdbcClient jdbc, String emailColumn) {
			this.jdbc = jdbc;
			this.emailColumn = emailColumn;
		}

		@Override
		public Optional<User> findById(long id) {
			return this.jdbc.sql("SELECT id, name, " + this.emailColumn + " AS email FROM users WHERE id = ?")
				.param(id)
				.query(User.class)
				.optional();
		}

		@Override
		public void insert(User user) {
			this.jdbc.sql("INSERT INTO users (id, name, " + this.emailColumn + ") VALUES (?, ?, ?)")
				.params(user.id(), user.name(), user.email())
				.update();
		}

		@Override
		public void updateEmail(long id, String email) {
			this.jdbc.sql("UPDATE users SET " + this.emailColumn + " = ? WHERE id = ?").params(email, id).update();
		}

		@Override
		public void deleteById(long id) {
			this.jdbc.sql("DELETE FROM users WHERE id = ?").param(id).update();
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UsersConfiguration {

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.OLD)
		Users oldUsers(JdbcClient jdbc) {
			return new ColumnUsers(jdbc, "email");
		}

		@Bean
		@ZdmRepository(migration = "users-email", schema = Schema.NEW)
		Users newUsers(JdbcClient jdbc) {
			return new ColumnUsers(jdbc, "email_address");
		}

	}

}
