package dev.zdm.sample;

import java.sql.Connection;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.micrometer.core.instrument.MeterRegistry;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.RestClient;

import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.sample.deploy.SampleDatabase;
import dev.zdm.test.PostgresExtension;

import static dev.zdm.sample.InstanceHttp.client;
import static dev.zdm.sample.InstanceHttp.get;
import static dev.zdm.sample.InstanceHttp.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The operator pauses a migration's expand DDL for the whole fleet through
 * {@code /actuator/zdm}: two instances of the sample, the expand's {@code ALTER TABLE}
 * waiting behind a read transaction held open by another session. The lock timeout is
 * long, so that the statement is caught waiting for its lock; meanwhile it queues the
 * table's other lock requests, so the instances start before it does.
 */
@Isolated
class ExpandPauseTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String MIGRATION = "customers-email";

	private static final Pattern EXPAND_STATE = Pattern.compile("\"expand\":\\{[^{}]*\"state\":\"([a-z-]+)\"");

	private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);

	private static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(200);

	// An instance's background expand re-reads the fleet's pause every max-backoff (at
	// most a second): this many heartbeats span at least that many of its reads, on a
	// slow machine as on a fast one, since a loaded machine slows the heartbeat too.
	private static final int HEARTBEATS_PER_PAUSE_READ = (int) (MAX_BACKOFF.toMillis() / HEARTBEAT_INTERVAL.toMillis());

	private static final String WAITING_ALTER = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
			+ "AND query LIKE '%ALTER TABLE customers ADD COLUMN email_address%' AND pid <> pg_backend_pid()";

	@Test
	void pauseCancelsTheStatementWaitingForItsLockNoInstanceRunsItWhilePausedAndResumeAppliesItWithinOneBackoff()
			throws Exception {
		SampleDatabase.createCustomers(postgres, 1000);
		JdbcTemplate jdbc = postgres.jdbc();
		// Paused before any instance starts (as an operator would have paused it on the
		// running fleet): neither instance starts the expand.
		// zdm's tables as a fleet leaves them (ZdmSchema), with the expand paused.
		Flyway.configure()
			.dataSource(postgres.dataSource())
			.table("zdm_schema_history")
			.locations("classpath:dev/zdm/schema/db")
			.baselineOnMigrate(true)
			.baselineVersion("0")
			.load()
			.migrate();
		jdbc.update("INSERT INTO zdm_migration (migration_id) VALUES (?)", MIGRATION);
		jdbc.update("INSERT INTO zdm_ddl_pause (migration_id, step, instance_id) VALUES (?, 'expand', 'operator')",
				MIGRATION);
		List<ConfigurableApplicationContext> instances = new ArrayList<>();
		List<InstanceHeartbeats> heartbeats = List.of(new InstanceHeartbeats(MIGRATION),
				new InstanceHeartbeats(MIGRATION));
		try (Connection blocker = postgres.database().newConnection()) {
			ConfigurableApplicationContext a = start("a", heartbeats.get(0));
			instances.add(a);
			ConfigurableApplicationContext b = start("b", heartbeats.get(1));
			instances.add(b);
			await().atMost(Duration.ofSeconds(30))
				.until(() -> "paused".equals(expandState(a)) && "paused".equals(expandState(b)));
			// Two of each instance's reads of the pause later, nothing has run.
			awaitHeartbeats(heartbeats, 2 * HEARTBEATS_PER_PAUSE_READ);
			assertThat(attempts()).isZero();
			assertThat(get(client(a), "/actuator/zdm/" + MIGRATION).getBody())
				.contains("\"pause\":{\"instanceId\":\"operator\"");

			// Resumed while a read transaction is open: the ALTER waits for its lock, and
			// the lock timeout is long, so it is caught waiting.
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM customers");
			}
			assertThat(post(client(a), "/actuator/zdm/" + MIGRATION + "/expand/resume").getStatusCode().value())
				.isEqualTo(200);
			await().atMost(Duration.ofSeconds(60)).until(() -> count(WAITING_ALTER) == 1);

			long pauseSent = System.nanoTime();
			ResponseEntity<String> paused = post(client(a), "/actuator/zdm/" + MIGRATION + "/expand/pause");
			assertThat(paused.getStatusCode().value()).isEqualTo(200);
			assertThat(paused.getBody()).contains("\"pause\":{\"instanceId\":\"a\"");
			await().atMost(Duration.ofSeconds(30)).until(() -> count(WAITING_ALTER) == 0);
			System.out.println("The waiting ALTER was cancelled "
					+ Duration.ofNanos(System.nanoTime() - pauseSent).toMillis() + " ms after the pause request");
			await().atMost(Duration.ofSeconds(30))
				.until(() -> "paused".equals(expandState(a)) && "paused".equals(expandState(b)));
			assertThat(jdbc.queryForObject(
					"SELECT state || ': ' || error FROM zdm_ddl_statement WHERE migration_id = ? AND source LIKE 'V1__%'",
					String.class, MIGRATION))
				.startsWith("paused: cancelled: the expand is paused through the endpoint of instance a");
			assertThat(jdbc.queryForObject("SELECT state FROM zdm_ddl_step WHERE migration_id = ? AND step = 'expand'",
					String.class, MIGRATION))
				.isEqualTo("paused");

			// The blocker leaves: still, no instance runs the expand while it is paused.
			blocker.commit();
			int attempts = attempts();
			awaitHeartbeats(heartbeats, 4 * HEARTBEATS_PER_PAUSE_READ);
			assertThat(columns()).doesNotContain("email_address");
			assertThat(attempts()).isEqualTo(attempts);
			for (ConfigurableApplicationContext instance : instances) {
				assertThat(expandState(instance)).isEqualTo("paused");
				assertThat(get(client(instance), "/actuator/zdm/" + MIGRATION).getBody())
					.contains("\"pause\":{\"instanceId\":");
				assertThat(status(instance).heldBackReason()).contains(
						"is paused through the endpoint of instance a at",
						"for the whole fleet; resume it with POST /actuator/zdm/customers-email/expand/resume");
				assertThat(status(instance).effective()).isEqualTo(Phase.EXPAND);
				assertThat(status(instance).heldBackReason()).contains("is paused through the endpoint of instance a");
				MeterRegistry meters = instance.getBean(MeterRegistry.class);
				assertThat(meters.get("zdm.ddl.expand.paused").tag("migration", MIGRATION).gauge().value())
					.isEqualTo(1);
				assertThat(meters.get("zdm.ddl.expand.state")
					.tags("migration", MIGRATION, "state", "paused")
					.gauge()
					.value()).isEqualTo(1);
			}
			assertThat(get(client(b), "/actuator/zdm/" + MIGRATION).getBody()).contains("\"state\":\"paused\"",
					"\"pause\":{\"instanceId\":\"a\"");
			assertThat(get(client(b), "/actuator/health").getBody()).contains("\"status\":\"UP\"",
					"\"state\":\"paused\"", "\"pause\":{\"instanceId\":\"a\"");

			// Malformed requests change nothing.
			Timestamp pausedAt = pausedAt();
			assertBadRequest(post(client(b), "/actuator/zdm/" + MIGRATION + "/expand/stop"),
					"Unknown expand action 'stop': use pause or resume");
			assertBadRequest(post(client(b), "/actuator/zdm/" + MIGRATION + "/contract/resume"),
					"Unknown contract action 'resume': use recheck, apply-old or override");
			assertBadRequest(post(client(b), "/actuator/zdm/" + MIGRATION + "/backfill/pause"),
					"Unknown step 'backfill': use expand (pause, resume) or contract (recheck, apply-old, override)");
			ResponseEntity<String> undeclared = post(client(b), "/actuator/zdm/orders-total/expand/resume");
			assertThat(undeclared.getStatusCode().value()).isEqualTo(404);
			assertThat(undeclared.getBody()).contains("No migration 'orders-total' is declared");
			assertThat(pausedAt()).isEqualTo(pausedAt);

			Timestamp resumed = jdbc.queryForObject("SELECT clock_timestamp()", Timestamp.class);
			ResponseEntity<String> resume = post(client(b), "/actuator/zdm/" + MIGRATION + "/expand/resume");
			assertThat(resume.getStatusCode().value()).isEqualTo(200);
			assertThat(pausedAt()).isNull();
			await().atMost(Duration.ofSeconds(30)).until(() -> columns().contains("email_address"));
			Timestamp applied = jdbc.queryForObject(
					"SELECT finished_at FROM zdm_ddl_statement WHERE migration_id = ? AND source LIKE 'V1__%'",
					Timestamp.class, MIGRATION);
			Duration afterResume = Duration.between(resumed.toInstant(), applied.toInstant());
			System.out.println("The expand was applied " + afterResume.toMillis() + " ms after the resume request "
					+ "(max-backoff " + MAX_BACKOFF.toMillis() + " ms)");
			assertThat(afterResume).isLessThan(MAX_BACKOFF.plusSeconds(1));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> status(a).effective() == Phase.DUAL_WRITE && status(b).effective() == Phase.DUAL_WRITE);

			// The expand is done: nothing to pause or resume.
			assertBadRequest(post(client(a), "/actuator/zdm/" + MIGRATION + "/expand/pause"),
					"The expand DDL of migration 'customers-email' is done; there is nothing to pause");
			assertBadRequest(post(client(a), "/actuator/zdm/" + MIGRATION + "/expand/resume"),
					"The expand DDL of migration 'customers-email' is done; there is nothing to resume");
			assertThat(pausedAt()).isNull();
		}
		finally {
			instances.forEach(ConfigurableApplicationContext::close);
		}
	}

	private static void assertBadRequest(ResponseEntity<String> response, String message) {
		assertThat(response.getStatusCode().value()).isEqualTo(400);
		assertThat(response.getBody()).contains(message);
	}

	private static void awaitHeartbeats(List<InstanceHeartbeats> heartbeats, int count) {
		heartbeats.forEach((instance) -> instance.awaitMore(count));
	}

	private static ConfigurableApplicationContext start(String name, InstanceHeartbeats heartbeats) {
		// customers-address, the sample's other migration, is paused on both instances:
		// its CREATE TABLE would queue behind the ALTER for the lock on customers.
		String[] arguments = Stream
			.concat(Stream.of(postgres.springProperties()),
					Stream.of("server.port=0", "spring.main.banner-mode=off", "logging.level.root=warn",
							"logging.level.dev.zdm=info", "management.endpoint.health.show-details=always",
							"management.endpoint.zdm.access=unrestricted",
							"management.endpoints.web.exposure.include=health,zdm", "zdm.instance-id=" + name,
							"zdm.migrations." + MIGRATION + ".phase=dual-write",
							"zdm.migrations.customers-address.expand-paused=true",
							"zdm.fleet.heartbeat-interval=" + HEARTBEAT_INTERVAL.toMillis() + "ms",
							"zdm.fleet.timeout=3s", "zdm.ddl.lock-timeout=60s", "zdm.ddl.initial-backoff=50ms",
							"zdm.ddl.max-backoff=" + MAX_BACKOFF.toMillis() + "ms"))
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		return heartbeats.countIn(new SpringApplicationBuilder(SampleApplication.class)).run(arguments);
	}

	private static dev.zdm.internal.fleet.MigrationStatus status(ConfigurableApplicationContext context) {
		return context.getBean(PhaseController.class).status(MIGRATION);
	}

	private static String expandState(ConfigurableApplicationContext context) {
		String body = get(client(context), "/actuator/zdm/" + MIGRATION).getBody();
		Matcher state = EXPAND_STATE.matcher((body != null) ? body : "");
		return state.find() ? state.group(1) : "none";
	}

	private static int attempts() {
		Integer attempts = postgres.jdbc()
			.queryForObject("SELECT sum(attempts) FROM zdm_ddl_statement WHERE migration_id = ?", Integer.class,
					MIGRATION);
		return (attempts != null) ? attempts : 0;
	}

	private static Timestamp pausedAt() {
		List<Timestamp> pausedAt = postgres.jdbc()
			.queryForList("SELECT paused_at FROM zdm_ddl_pause WHERE migration_id = ?", Timestamp.class, MIGRATION);
		return pausedAt.isEmpty() ? null : pausedAt.get(0);
	}

	private static int count(String sql) {
		Integer count = postgres.jdbc().queryForObject(sql, Integer.class);
		return (count != null) ? count : 0;
	}

	private static List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'",
					String.class);
	}

}
