package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.LiveWorkload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests of one cross-table copy batch racing an application transaction on a real
 * PostgreSQL, in the window between the copy statement's snapshot and its insert: the
 * application transaction holds the row locks of its source writes when the batch starts,
 * so the batch waits for it inside its statement, and a session holding the batch's
 * checkpoint row keeps the batch from committing until the application has committed. The
 * application writes the old side first, then the new side by key, as a routed repository
 * does.
 */
class CrossTableCopyRaceTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 100;

	private final JdbcTemplate jdbc = postgres.jdbc();

	@BeforeAll
	static void createZdmTables() {
		new ZdmSchema(postgres.dataSource()).migrate();
	}

	@Test
	void applicationUpdateAndDeleteOfUncopiedRowsCommittedWhileTheCopyWaitsAreKept() throws Exception {
		String table = "race_plain";
		LiveWorkload.create(postgres, table, true, ROWS);
		try (Connection application = postgres.database().newConnection()) {
			application.setAutoCommit(false);
			// the old side first: these row locks make the batch wait inside its
			// statement
			assertThat(execute(application, "UPDATE " + table + " SET street = 'app', city = 'app city' WHERE id = 10"))
				.isOne();
			assertThat(execute(application, "DELETE FROM " + table + " WHERE id = 20")).isOne();
			BatchInFlight batch = startBatchHeldAtCheckpoint(table);
			// the new side by key, with plain statements: the rows are not copied yet
			assertThat(execute(application,
					"UPDATE " + table + "_addresses SET street = 'app', city = upper('app city') WHERE order_id = 10"))
				.isZero();
			assertThat(execute(application, "DELETE FROM " + table + "_addresses WHERE order_id = 20")).isZero();
			application.commit();
			BackfillBatches.Batch copied = batch.commit();
			assertThat(copied.rows()).isEqualTo(ROWS);
			assertThat(copied.changed()).isEqualTo(ROWS - 1);
		}
		assertThat(this.jdbc.queryForObject(
				"SELECT street || '|' || city FROM " + table + "_addresses WHERE order_id = 10", String.class))
			.as("the application's update, not the value of the copy's snapshot")
			.isEqualTo("app|APP CITY");
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM " + table + "_addresses WHERE order_id = 20",
				Long.class))
			.as("the deleted row is not brought back")
			.isZero();
		assertThat(LiveWorkload.disagreeing(postgres, table, true)).isZero();
	}

	@Test
	void applicationInsertOfAnUncopiedTargetRowCommittedWhileTheCopyWaitsIsKeptAndTheRestCopied() throws Exception {
		String table = "race_upsert";
		LiveWorkload.create(postgres, table, true, ROWS);
		try (Connection application = postgres.database().newConnection()) {
			application.setAutoCommit(false);
			assertThat(execute(application, "UPDATE " + table + " SET street = 'app', city = 'app city' WHERE id = 10"))
				.isOne();
			BatchInFlight batch = startBatchHeldAtCheckpoint(table);
			// the new side as an upsert: it inserts the target row the copy is about to
			// insert, after the copy statement's snapshot
			assertThat(execute(application,
					"INSERT INTO " + table + "_addresses (order_id, street, city) "
							+ "VALUES (10, 'app', upper('app city')) ON CONFLICT (order_id) DO UPDATE "
							+ "SET street = EXCLUDED.street, city = EXCLUDED.city"))
				.isOne();
			application.commit();
			BackfillBatches.Batch copied = batch.commit();
			assertThat(copied.rows()).isEqualTo(ROWS);
			assertThat(copied.changed()).isEqualTo(ROWS - 1);
		}
		assertThat(this.jdbc.queryForObject(
				"SELECT street || '|' || city FROM " + table + "_addresses WHERE order_id = 10", String.class))
			.isEqualTo("app|APP CITY");
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM " + table + "_addresses", Long.class))
			.isEqualTo(ROWS);
		assertThat(LiveWorkload.disagreeing(postgres, table, true)).isZero();
	}

	/**
	 * Start the first copy batch of the whole table on a connection of its own, with
	 * another session holding the batch's checkpoint row, and wait until the batch waits
	 * for a lock.
	 */
	private BatchInFlight startBatchHeldAtCheckpoint(String table) throws SQLException {
		String id = table.replace('_', '-');
		MigrationDefinition migration = CrossTableBackfillTests
			.migration(id, table, Phase.BACKFILL, BackfillSettings.defaults())
			.toBuilder()
			.key("id")
			.build();
		Connection runner = postgres.database().newConnection();
		BackfillRepository repository = new BackfillRepository(new SingleConnectionDataSource(runner, true));
		new MigrationStateRepository(postgres.dataSource()).register(id);
		repository.ensure(id);
		repository.claim(id, "race", BackfillState.RUNNING);
		String upperBound = repository.jdbcTemplate()
			.queryForObject("SELECT max(id)::text FROM " + table, String.class);
		repository.start(id, upperBound, ROWS);
		Integer runnerPid = repository.jdbcTemplate().queryForObject("SELECT pg_backend_pid()", Integer.class);
		Connection checkpointHolder = postgres.database().newConnection();
		checkpointHolder.setAutoCommit(false);
		try (PreparedStatement hold = checkpointHolder
			.prepareStatement("SELECT 1 FROM zdm_backfill WHERE migration_id = ? FOR UPDATE")) {
			hold.setString(1, id);
			hold.executeQuery().close();
		}
		BackfillBatches batches = new BackfillBatches(migration, BackfillStatements.of(migration), "race", true);
		BackfillWalk walk = BackfillWalk.copy(upperBound, null, 0, 0, (long) ROWS, 10 * ROWS);
		CompletableFuture<BackfillBatches.Batch> batch = CompletableFuture.supplyAsync(() -> {
			try {
				runner.setAutoCommit(false);
				BackfillBatches.Batch done = batches.run(repository, walk);
				runner.commit();
				return done;
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
			finally {
				try {
					runner.close();
				}
				catch (SQLException ex) {
					// closing a test connection
				}
			}
		});
		await().atMost(Duration.ofSeconds(30))
			.pollInterval(Duration.ofMillis(20))
			.until(() -> batch.isDone() || Boolean.TRUE.equals(this.jdbc.queryForObject(
					"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = ?", Boolean.class, runnerPid)));
		assertThat(batch).as("the batch waits for a lock").isNotDone();
		return new BatchInFlight(batch, checkpointHolder);
	}

	private static int execute(Connection connection, String sql) throws SQLException {
		try (PreparedStatement statement = connection.prepareStatement(sql)) {
			return statement.executeUpdate();
		}
	}

	private record BatchInFlight(CompletableFuture<BackfillBatches.Batch> batch, Connection checkpointHolder) {

		/** Let the batch checkpoint and commit, and return it. */
		BackfillBatches.Batch commit() throws Exception {
			try (Connection holder = this.checkpointHolder) {
				holder.commit();
			}
			return this.batch.get(60, TimeUnit.SECONDS);
		}

	}

}
