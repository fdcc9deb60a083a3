package dev.zdm.internal.backfill;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.FleetSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.RestartablePostgres;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that a backfill finishes when its database restarts mid-way, and that a graceful
 * stop with the database down does not wait for the pool's timeout. Uses a PostgreSQL
 * server of its own, so that the restart affects no other test.
 */
@ResourceLock(RestartablePostgres.LOCK)
class BackfillDatabaseRestartTests {

	@TempDir
	Path dataDirectory;

	@Test
	void backfillFinishesAfterDatabaseRestart() throws Exception {
		int port = RestartablePostgres.freePort();
		EmbeddedPostgres server = RestartablePostgres.start(this.dataDirectory, port);
		HikariDataSource dataSource = RestartablePostgres.dataSource(server, 4, Duration.ofSeconds(1));
		PhaseController controller = null;
		try {
			JdbcTemplate jdbc = new JdbcTemplate(dataSource);
			jdbc.execute("CREATE TABLE restart_users (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
			jdbc.update("INSERT INTO restart_users (id, email) SELECT i, 'User' || i || '@Example.COM' "
					+ "FROM generate_series(1, 30000) AS i");
			AtomicInteger failedRuns = new AtomicInteger();
			BackfillParticipant backfill = TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of(),
					new BackfillListener() {

						@Override
						public void runFailed(MigrationDefinition migration, Throwable failure) {
							failedRuns.incrementAndGet();
						}

					});
			controller = TestEngine.phaseController(dataSource,
					List.of(BackfillFixtures.migration("restart", "restart_users", Phase.BACKFILL,
							BackfillFixtures.settings(300, 300, 300, Duration.ofMillis(20)))),
					InstanceInfo.ofThisProcess("a", "test", "1"), TestFleet.SETTINGS, List.of(backfill));
			controller.start();
			BackfillService service = new JdbcBackfillService(dataSource);
			await().atMost(Duration.ofSeconds(20)).until(() -> service.progress("restart").rowsDone() > 3000);
			server.close();
			// the run in flight fails on the closed database before it comes back
			await().atMost(Duration.ofSeconds(20)).until(() -> failedRuns.get() > 0);
			server = RestartablePostgres.start(this.dataDirectory, port);
			await().atMost(Duration.ofSeconds(60))
				.ignoreExceptions()
				.until(() -> service.progress("restart").state() == BackfillState.VERIFIED);
			BackfillProgress progress = service.progress("restart");
			assertThat(progress.errors()).isPositive();
			assertThat(progress.resumedFrom()).isNotNull();
			assertThat(progress.verification().succeeded()).isTrue();
			assertThat(jdbc.queryForObject(
					"SELECT count(*) FROM restart_users WHERE email_address IS DISTINCT FROM lower(email)", Long.class))
				.isZero();
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
	void gracefulStopWithTheDatabaseDownReturnsWithinItsBoundAndLeavesTheRowToTimeOut() throws Exception {
		int port = RestartablePostgres.freePort();
		EmbeddedPostgres server = RestartablePostgres.start(this.dataDirectory, port);
		HikariDataSource dataSource = RestartablePostgres.dataSource(server, 4, Duration.ofSeconds(1));
		// as an application's pool: a borrower waits up to 30 s for a connection
		dataSource.getHikariConfigMXBean().setConnectionTimeout(30_000);
		FleetSettings settings = new FleetSettings(Duration.ofSeconds(2), Duration.ofSeconds(30),
				TestFleet.JOIN_TIMEOUT, Duration.ofHours(1));
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(BackfillFixtures.migration("down", "down_users", Phase.DUAL_WRITE,
						BackfillSettings.defaults())),
				InstanceInfo.ofThisProcess("down", "test", "1"), settings, List.of());
		try {
			new JdbcTemplate(dataSource)
				.execute("CREATE TABLE down_users (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
			controller.start();
			server.close();
			// idle for longer than the pool trusts them unchecked (500 ms), its
			// connections
			// are checked, found dead, and new ones tried until its timeout
			Thread.sleep(1000);
			long stopping = System.nanoTime();
			controller.stop();
			Duration took = Duration.ofNanos(System.nanoTime() - stopping);
			assertThat(took).as("stop with the database down").isLessThan(Duration.ofSeconds(8));
			// the pool closes as the application's would after the stop, which also ends
			// the attempt to leave still waiting for a connection
			dataSource.close();
			server = RestartablePostgres.start(this.dataDirectory, port);
			// the instance could not leave: its row is still there, to time out
			try (HikariDataSource after = RestartablePostgres.dataSource(server, 4, Duration.ofSeconds(1))) {
				assertThat(new FleetRegistry(after).members("down", settings.timeout()))
					.extracting(FleetMember::instanceId)
					.singleElement()
					.asString()
					.startsWith("down");
			}
		}
		finally {
			dataSource.close();
			server.close();
		}
	}

}
