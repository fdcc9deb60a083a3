package dev.zdm.actuate.endpoint;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.fleet.FleetSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.Phase;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.RestartablePostgres;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that {@code GET /actuator/zdm} answers while the database is down, from what the
 * instance knows, instead of holding the request for the pool's connection timeout and
 * failing it; against a PostgreSQL server of its own, stopped and started again, so that
 * the outage affects no other test.
 */
@ResourceLock(RestartablePostgres.LOCK)
class ZdmEndpointDatabaseDownTests {

	@TempDir
	Path dataDirectory;

	@Test
	void endpointAnswersFromWhatTheInstanceKnowsWhileTheDatabaseIsDownAndFullyOnceItIsBack() throws Exception {
		int port = RestartablePostgres.freePort();
		EmbeddedPostgres server = RestartablePostgres.start(this.dataDirectory, port);
		// a read of the database would wait this long for a connection, then fail
		HikariDataSource dataSource = RestartablePostgres.dataSource(server, 6, Duration.ofSeconds(20));
		PhaseController controller = null;
		try {
			JdbcTemplate jdbc = new JdbcTemplate(dataSource);
			jdbc.execute("CREATE TABLE down_users (id bigint PRIMARY KEY, email text, email_address text)");
			jdbc.execute("CREATE TABLE down_orders (id bigint PRIMARY KEY, email text, email_address text)");
			// two migrations: the heartbeat of one can still wait for a connection when
			// the other's has failed
			controller = TestEngine.phaseController(dataSource,
					List.of(BackfillFixtures.migration("down", "down_users", Phase.DUAL_WRITE,
							BackfillFixtures.settings(1000, 100, 1000, Duration.ZERO)),
							BackfillFixtures.migration("down-orders", "down_orders", Phase.DUAL_WRITE,
									BackfillFixtures.settings(1000, 100, 1000, Duration.ZERO))),
					InstanceInfo.ofThisProcess("down-a", "test", "1"), TestFleet.SETTINGS, List.of());
			controller.start();
			PhaseController started = controller;
			ZdmEndpoint endpoint = new ZdmEndpoint(controller, new LockFiguresSampler(new LockInspector(dataSource)),
					new JdbcBackfillService(dataSource), new DdlHistoryRepository(dataSource), null, null, null, null,
					new BackfillOverrideRepository(dataSource), new OperatorActionRepository(dataSource), (event) -> {
					}, null);
			await().atMost(Duration.ofSeconds(20)).until(() -> started.status("down").effective() == Phase.DUAL_WRITE);
			assertThat(endpoint.migration("down").tuning()).as("read from the database").isNotNull();
			server.close();
			await().atMost(Duration.ofSeconds(60))
				.until(() -> started.statuses().stream().anyMatch((status) -> status.lastHeartbeatError() != null));
			// answered well within the pool's 20 s wait, for both migrations
			for (String id : List.of("down", "down-orders")) {
				MigrationDescriptor down = CompletableFuture.supplyAsync(() -> endpoint.migration(id))
					.get(10, TimeUnit.SECONDS);
				assertThat(down.effectivePhase()).isEqualTo("dual-write");
				assertThat(down.lastHeartbeatError()).isNotBlank();
				assertThat(down.fleet()).isNotEmpty();
				assertThat(down.tuning()).as("not read while the database is down").isNull();
			}
			assertThat(CompletableFuture.supplyAsync(endpoint::migrations).get(10, TimeUnit.SECONDS).migrations())
				.containsOnlyKeys("down", "down-orders");
			// a write operation needs the database: refused at once, 503 and what to do,
			// not held for the pool's 20 s and failed with a bare 500
			ZdmEndpointWebExtension web = new ZdmEndpointWebExtension(endpoint);
			List<WebEndpointResponse<Object>> refused = List.of(
					CompletableFuture.supplyAsync(() -> web.backfill("down", "pause", "night", SecurityContext.NONE))
						.get(5, TimeUnit.SECONDS),
					CompletableFuture
						.supplyAsync(() -> web.tuning("down-orders", "backfill", "tuning", "set", null, null, null,
								null, null, "777", null, null, null, null, null, null, null, SecurityContext.NONE))
						.get(5, TimeUnit.SECONDS),
					CompletableFuture.supplyAsync(() -> web.ddl("down", "expand", "pause", null, SecurityContext.NONE))
						.get(5, TimeUnit.SECONDS));
			for (WebEndpointResponse<Object> response : refused) {
				assertThat(response.getStatus()).isEqualTo(503);
				assertThat(response.getBody()).asString()
					.contains("is unreachable from this instance", "nothing was changed", "Retry once it is back");
			}
			server = RestartablePostgres.start(this.dataDirectory, port);
			await().atMost(Duration.ofSeconds(60))
				.ignoreExceptions()
				.until(() -> started.statuses().stream().allMatch((status) -> status.lastHeartbeatError() == null)
						&& endpoint.migration("down").tuning() != null
						&& endpoint.migration("down-orders").tuning() != null);
			// the refused requests changed nothing
			assertThat(endpoint.migration("down-orders").tuning().overrides()).isEmpty();
			assertThat(endpoint.migration("down").actions()).isEmpty();
		}
		finally {
			if (controller != null) {
				controller.stop();
			}
			dataSource.close();
			server.close();
		}
	}

	// an outside run: with two migrations the second one's zdm.heartbeat.failing and
	// health turned failing a whole connection timeout after the endpoint said
	// "no heartbeat has reached the database since ...", its heartbeat waiting behind
	// the first one's
	@Test
	void heartbeatGaugeAndHealthTellTheOutageOfEveryMigrationOnceOneHeartbeatLostItsConnection() throws Exception {
		int port = RestartablePostgres.freePort();
		EmbeddedPostgres server = RestartablePostgres.start(this.dataDirectory, port);
		HikariDataSource dataSource = RestartablePostgres.dataSource(server, 6, Duration.ofSeconds(20));
		PhaseController controller = null;
		try {
			// the fleet timeout well over the pool's wait: the first heartbeat failed
			// for its connection tells the outage, not the time since the last one
			controller = startTwoMigrations(dataSource,
					TestFleet.SETTINGS.withHeartbeat(Duration.ofMillis(100), Duration.ofSeconds(90)));
			Observed observed = new Observed(controller, dataSource);
			observed.assertUp();
			try (Connection holder = server.getPostgresDatabase().getConnection()) {
				holder.setAutoCommit(false);
				// as an outage finds them: the first migration's heartbeat on a
				// connection the server ends, the second one's still waiting behind it
				// (here for its fleet lock rather than for a connection)
				try (Statement statement = holder.createStatement()) {
					statement.execute("SELECT pg_advisory_xact_lock(hashtext('zdm.fleet'), hashtext('down')), "
							+ "pg_advisory_xact_lock(hashtext('zdm.fleet'), hashtext('down-orders'))");
				}
				PhaseController started = controller;
				JdbcTemplate admin = new JdbcTemplate(server.getPostgresDatabase());
				await().atMost(Duration.ofSeconds(20))
					.until(() -> admin.queryForObject("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
							+ "AND NOT granted AND objid = hashtext('down')::oid", Integer.class) == 1);
				admin.queryForList("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
						+ "AND NOT granted AND objid = hashtext('down')::oid");
				await().atMost(Duration.ofSeconds(20)).until(() -> started.status("down").lastHeartbeatError() != null);
				assertThat(started.status("down-orders").lastHeartbeatError()).isNull();
				observed.assertEveryMigrationFailingAsTheEndpointSays("that of migration 'down' failed at");
				holder.rollback();
			}
			observed.awaitUp();
		}
		finally {
			if (controller != null) {
				controller.stop();
			}
			dataSource.close();
			server.close();
		}
	}

	@Test
	void heartbeatGaugeAndHealthTellTheOutageOnceNoHeartbeatGotThroughForTheFleetTimeout() throws Exception {
		int port = RestartablePostgres.freePort();
		EmbeddedPostgres server = RestartablePostgres.start(this.dataDirectory, port);
		HikariDataSource dataSource = RestartablePostgres.dataSource(server, 6, Duration.ofSeconds(20));
		PhaseController controller = null;
		try {
			controller = startTwoMigrations(dataSource, TestFleet.SETTINGS);
			Observed observed = new Observed(controller, dataSource);
			observed.assertUp();
			// a heartbeat that gets nowhere and fails nothing (a database that takes
			// connections and answers none): the first migration's waits for its fleet
			// lock, the second one's behind it
			try (Connection holder = server.getPostgresDatabase().getConnection()) {
				holder.setAutoCommit(false);
				try (Statement statement = holder.createStatement()) {
					statement.execute("SELECT pg_advisory_xact_lock(hashtext('zdm.fleet'), hashtext('down'))");
				}
				PhaseController started = controller;
				await().atMost(Duration.ofSeconds(30)).until(() -> !MigrationDescriber.reachable(started));
				assertThat(started.statuses()).allMatch((status) -> status.lastHeartbeatError() == null);
				observed.assertEveryMigrationFailingAsTheEndpointSays("over zdm.fleet.timeout");
				holder.rollback();
			}
			observed.awaitUp();
		}
		finally {
			if (controller != null) {
				controller.stop();
			}
			dataSource.close();
			server.close();
		}
	}

	private static PhaseController startTwoMigrations(HikariDataSource dataSource, FleetSettings settings) {
		JdbcTemplate jdbc = new JdbcTemplate(dataSource);
		jdbc.execute("CREATE TABLE down_users (id bigint PRIMARY KEY, email text, email_address text)");
		jdbc.execute("CREATE TABLE down_orders (id bigint PRIMARY KEY, email text, email_address text)");
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(BackfillFixtures.migration("down", "down_users", Phase.DUAL_WRITE,
						BackfillFixtures.settings(1000, 100, 1000, Duration.ZERO)),
						BackfillFixtures.migration("down-orders", "down_orders", Phase.DUAL_WRITE,
								BackfillFixtures.settings(1000, 100, 1000, Duration.ZERO))),
				InstanceInfo.ofThisProcess("down-a", "test", "1"), settings, List.of());
		controller.start();
		await().atMost(Duration.ofSeconds(20))
			.until(() -> controller.statuses().stream().allMatch((status) -> status.effective() == Phase.DUAL_WRITE));
		return controller;
	}

	/**
	 * The endpoint, the {@code zdm.heartbeat.failing} gauges and the health of one
	 * instance.
	 */
	private static final class Observed {

		private final PhaseController controller;

		private final MeterRegistry meters = new SimpleMeterRegistry();

		private final ZdmHealthIndicator health;

		private final ZdmEndpoint endpoint;

		Observed(PhaseController controller, HikariDataSource dataSource) {
			this.controller = controller;
			new ZdmMetrics(controller, new LockFiguresSampler(new LockInspector(dataSource))).bindTo(this.meters);
			this.health = new ZdmHealthIndicator(controller, null, null, null, null, null, null,
					ZdmHealthIndicator.Thresholds.DEFAULTS);
			this.endpoint = new ZdmEndpoint(controller, new LockFiguresSampler(new LockInspector(dataSource)),
					new JdbcBackfillService(dataSource), new DdlHistoryRepository(dataSource), null, null, null, null,
					new BackfillOverrideRepository(dataSource), new OperatorActionRepository(dataSource), (event) -> {
					}, null);
		}

		void assertUp() {
			assertThat(failing("down")).isZero();
			assertThat(failing("down-orders")).isZero();
			assertThat(this.health.health().getStatus()).isEqualTo(Status.UP);
		}

		void awaitUp() {
			await().atMost(Duration.ofSeconds(90))
				.ignoreExceptions()
				.until(() -> failing("down") == 0 && failing("down-orders") == 0
						&& this.health.health().getStatus() == Status.UP);
		}

		void assertEveryMigrationFailingAsTheEndpointSays(String waitingOneSays) throws Exception {
			// a migration whose own heartbeat has not failed yet: it waits behind the
			// other's, or for a connection of its own
			String waiting = this.controller.statuses()
				.stream()
				.filter((status) -> status.lastHeartbeatError() == null)
				.map(MigrationStatus::migrationId)
				.findFirst()
				.orElseThrow();
			// the endpoint tells the outage for it from memory ...
			MigrationDescriptor described = CompletableFuture.supplyAsync(() -> this.endpoint.migration(waiting))
				.get(10, TimeUnit.SECONDS);
			assertThat(described.lastHeartbeatError()).startsWith("no heartbeat has reached the database since")
				.endsWith("; shown from memory");
			// ... and so do the gauge and the health, for every migration
			assertThat(failing("down")).isOne();
			assertThat(failing("down-orders")).isOne();
			Health down = this.health.health();
			assertThat(down.getStatus()).isEqualTo(Status.DOWN);
			assertThat(down.getDetails()).extractingByKey("down").asString().contains("problems=[heartbeat failing: ");
			assertThat(down.getDetails()).extractingByKey("down-orders")
				.asString()
				.contains("problems=[heartbeat failing: ");
			assertThat(down.getDetails()).extractingByKey(waiting)
				.asString()
				.contains("heartbeat failing: no heartbeat has reached the database since ")
				.contains(waitingOneSays);
			assertThat(this.controller.status(waiting).lastHeartbeatError())
				.as("its own heartbeat has not failed yet: the gauge and the health told it before")
				.isNull();
		}

		private double failing(String migrationId) {
			return this.meters.get("zdm.heartbeat.failing").tag("migration", migrationId).gauge().value();
		}

	}

}
