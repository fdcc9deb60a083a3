package dev.zdm.actuate.endpoint;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
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

}
