package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that a backfill held back by an old transaction names that transaction's session
 * as the lock-waiter report does, on a real PostgreSQL: its application, role, state and
 * query, constants replaced unless {@code zdm.locks.show-query-literals}. An outside run
 * was told only {@code the transaction of pid 26319 has been open for PT34.42S}.
 */
class BackfillOldTransactionTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final List<PhaseController> controllers = new ArrayList<>();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void holdBackNamesTheOldTransactionsApplicationUserStateAndQueryWithoutItsConstants() throws Exception {
		String reason = heldBackBy("old_users", false);
		String user = this.jdbc.queryForObject("SELECT current_user", String.class);
		assertThat(reason).startsWith("the transaction of pid ")
			.contains("(application 'nightly-report', user '" + user + "', idle in transaction) has been open for ")
			.contains("(at most PT1S allowed); its query: SELECT count(*) FROM old_users WHERE email = $1")
			.doesNotContain("secret@example.com");
	}

	@Test
	void holdBackShowsTheQuerysConstantsWhenAskedTo() throws Exception {
		String reason = heldBackBy("literal_users", true);
		assertThat(reason).contains("application 'nightly-report'")
			.endsWith("its query: SELECT count(*) FROM literal_users WHERE email = 'secret@example.com'");
	}

	private String heldBackBy(String table, boolean showQueryLiterals) throws Exception {
		this.jdbc
			.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
		this.jdbc.update("INSERT INTO " + table + " (id, email) SELECT i, 'User' || i || '@Example.COM' "
				+ "FROM generate_series(1, 20000) AS i");
		BackfillSettings settings = BackfillSettings.builder()
			.batchSizes(100, 100, 100)
			.targetBatchDuration(Duration.ofMillis(50))
			.pause(Duration.ofMillis(20))
			.maxTransactionAge(Duration.ofSeconds(1))
			.throttleCheckInterval(Duration.ofMillis(100))
			.vacuumEveryRows(0)
			.build();
		String id = table.replace('_', '-');
		start(id, BackfillFixtures.migration(id, table, Phase.BACKFILL, settings), showQueryLiterals);
		await().atMost(Duration.ofSeconds(30)).until(() -> this.service.progress(id).rowsUpdated() > 0);
		try (Connection old = postgres.database().newConnection()) {
			try (Statement statement = old.createStatement()) {
				statement.execute("SET application_name = 'nightly-report'");
			}
			old.setAutoCommit(false);
			old.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
			try (Statement statement = old.createStatement()) {
				statement.execute("SELECT count(*) FROM " + table + " WHERE email = 'secret@example.com'");
			}
			String[] reason = new String[1];
			await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
				BackfillProgress progress = this.service.progress(id);
				assertThat(progress.state()).isEqualTo(BackfillState.THROTTLED);
				assertThat(progress.throttleReason()).contains("has been open for");
				reason[0] = progress.throttleReason();
			});
			old.rollback();
			return reason[0];
		}
	}

	private void start(String instance, MigrationDefinition migration, boolean showQueryLiterals) {
		DataSource dataSource = postgres.newDataSource(instance, 6);
		BackfillParticipant backfill = new BackfillParticipant(dataSource, new FleetRegistry(dataSource),
				new MigrationStateRepository(dataSource), new LockInspector(dataSource, showQueryLiterals),
				new ReplicationLagInspector(dataSource), TestFleet.SETTINGS.timeout(), List.of(), null, null,
				BackfillEnvironment.DEFAULT_MAX_CONCURRENT_BACKFILLS, Set.of(), null);
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of(backfill));
		controller.start();
		this.controllers.add(controller);
	}

}
