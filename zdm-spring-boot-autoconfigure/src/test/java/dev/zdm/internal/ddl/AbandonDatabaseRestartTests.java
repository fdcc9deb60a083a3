package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.ResourceLock;

import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.SchemaSnapshot;
import dev.zdm.testing.RestartablePostgres;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that an abandon finishes when its database restarts while a drop waits for a
 * lock, with part of the drops applied. Uses a PostgreSQL server of its own, so that the
 * restart affects no other test.
 */
@ResourceLock(RestartablePostgres.LOCK)
class AbandonDatabaseRestartTests {

	private static final String ID = "restart-abandon";

	@TempDir
	Path dataDirectory;

	@TempDir
	Path scripts;

	@Test
	void abandonFinishesAfterDatabaseRestartMidDrop() throws Exception {
		int port = RestartablePostgres.freePort();
		EmbeddedPostgres server = RestartablePostgres.start(this.dataDirectory, port);
		HikariDataSource dataSource = RestartablePostgres.dataSource(server, 6, Duration.ofSeconds(1));
		try {
			JdbcTemplate jdbc = new JdbcTemplate(dataSource);
			jdbc.execute("CREATE TABLE restart_orders (id bigint PRIMARY KEY, street text)");
			jdbc.update("INSERT INTO restart_orders SELECT i, 'street ' || i FROM generate_series(1, 1000) AS i");
			new ZdmSchema(dataSource).migrate();
			List<String> beforeExpand = schema(jdbc);
			MigrationDefinition migration = MigrationDefinition.builder(ID)
				.table("restart_orders")
				.key("id")
				.up("street_new", "street")
				.expandLocations(List.of(DdlTestScripts.write(this.scripts, "V1__expand.sql", """
						ALTER TABLE restart_orders ADD COLUMN street_new text;
						CREATE TABLE restart_orders_audit (id bigint PRIMARY KEY);
						""")))
				.build();
			Instance expanding = new Instance(dataSource, "expanding", migration, Phase.DUAL_WRITE);
			await().atMost(Duration.ofSeconds(30)).until(() -> expanding.phase() == Phase.DUAL_WRITE);
			expanding.stop();
			Instance abandoning;
			try (Connection blocker = server.getPostgresDatabase().getConnection()) {
				// keeps the audit table, whose drop comes after the trigger's and the
				// function's
				blocker.setAutoCommit(false);
				try (Statement statement = blocker.createStatement()) {
					statement.execute("SELECT count(*) FROM restart_orders_audit");
				}
				abandoning = new Instance(dataSource, "abandoning", migration, Phase.ABANDON);
				await().atMost(Duration.ofSeconds(30))
					.until(() -> jdbc.queryForObject("SELECT count(*) FROM zdm_ddl_lock_timeout "
							+ "WHERE migration_id = ? AND step = 'abandon'", Integer.class, ID) >= 2);
				assertThat(schema(jdbc)).noneMatch((line) -> line.contains("zdm_sync_restart_abandon"))
					.anyMatch((line) -> line.contains("restart_orders_audit"));
				server.close();
			}
			await().atMost(Duration.ofSeconds(20))
				.until(() -> abandoning.abandon.progress(ID) != null
						&& abandoning.abandon.progress(ID).state().equals(AbandonProgress.FAILED));
			server = RestartablePostgres.start(this.dataDirectory, port);
			await().atMost(Duration.ofSeconds(60))
				.ignoreExceptions()
				.until(() -> abandoning.abandon.progress(ID).state().equals(AbandonProgress.DONE));
			abandoning.stop();
			assertThat(schema(jdbc)).isEqualTo(beforeExpand);
			assertThat(jdbc.queryForList(
					"SELECT DISTINCT state FROM zdm_ddl_statement WHERE migration_id = ? " + "AND step = 'abandon'",
					String.class, ID))
				.containsExactly("applied");
		}
		finally {
			dataSource.close();
			server.close();
		}
	}

	private static List<String> schema(JdbcTemplate jdbc) {
		return SchemaSnapshot.of(jdbc).stream().filter((line) -> !line.contains("zdm_ddl_expand_")).toList();
	}

	private static final class Instance {

		private final DdlRunners runners;

		private final AbandonRunner abandon;

		private final PhaseController controller;

		Instance(HikariDataSource dataSource, String name, MigrationDefinition migration, Phase requested) {
			InstanceInfo info = InstanceInfo.ofThisProcess(name, "test", "1");
			DdlSettings settings = DdlSettings.defaults()
				.withLockTimeout(Duration.ofMillis(200))
				.withMaxAttempts(100_000)
				.withBackoff(Duration.ofMillis(50), Duration.ofMillis(500));
			this.runners = DdlRunners.create(dataSource, settings, info, TestFleet.TIMEOUT,
					List.of(new SameTableSyncTrigger(dataSource)));
			this.abandon = new AbandonRunner(dataSource, dataSource,
					new FlywayStep(dataSource, this.runners.executor(), this.runners.history(),
							new DdlScriptLoader(new DefaultResourceLoader())),
					this.runners.executor(), this.runners.history(), new MigrationStateRepository(dataSource),
					new FleetRegistry(dataSource), new OperatorActionRepository(dataSource), settings,
					new AbandonSettings(Map.of(ID, "restart test"), Map.of()), info, TestFleet.TIMEOUT);
			this.controller = TestEngine.phaseController(dataSource,
					List.of(migration.toBuilder().requestedPhase(requested).build()), info, TestFleet.SETTINGS,
					List.of(this.runners.validator(), this.runners.expand(), this.runners.contract(), this.abandon));
			this.controller.start();
		}

		Phase phase() {
			return this.controller.effectivePhase(ID);
		}

		void stop() {
			this.controller.stop();
			this.abandon.destroy();
			this.runners.destroy();
		}

	}

}
