package dev.zdm.autoconfigure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.util.PSQLException;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.backfill.BackfillListener;
import dev.zdm.internal.ddl.ExpandProgress;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.PhaseLimit;
import dev.zdm.internal.fleet.PoolConnections;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that a start-up for which the application's pool has no connection left fails
 * with a failure analysis that says which step needed the connection, what held the pool
 * and how large to make it; and that a database that cannot be reached, which Hikari
 * reports with the same timed-out request, is not reported so.
 */
class StartupPoolTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	static Path scripts;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues("spring.datasource.hikari.connection-timeout=250", "zdm.ddl.expand-at-startup=true");

	@Test
	void startupWhosePoolHasNoConnectionLeftForTheHeartbeatFailsWithThePoolAdvice() {
		// the expand (3 connections) is done before the holder takes the pool
		this.contextRunner.withPropertyValues(postgres.springProperties())
			.withPropertyValues(migration("held", "held_users"))
			.withPropertyValues("spring.datasource.hikari.maximum-pool-size=3")
			.withBean(PoolHolder.class)
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
				assertThat(analysis.getDescription())
					.contains("zdm's start-up could not get a connection from the application's pool within the "
							+ "pool's connection timeout to join the fleet with migration 'held' (its first heartbeat)")
					.contains("request timed out after")
					.contains("total=3, active=3, idle=0")
					.contains(
							"zdm's work in progress then: migration 'held' held at expand (" + PoolHolder.REASON + ")");
				assertThat(analysis.getAction()).isEqualTo(PoolConnections.ADVICE);
			});
	}

	@Test
	void expandAtStartupOnAPoolTooSmallForItFailsWithThePoolAdvice() {
		this.contextRunner.withPropertyValues(postgres.springProperties())
			.withPropertyValues(migration("small", "small_users"))
			.withPropertyValues("spring.datasource.hikari.maximum-pool-size=2")
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
				assertThat(analysis.getDescription())
					.contains("zdm's start-up could not get a connection from the application's pool within the "
							+ "pool's connection timeout to prepare migration 'small' on this instance")
					.contains("total=2, active=2, idle=0")
					.contains("zdm's work in progress then: migration 'small' held at expand (the expand DDL is not "
							+ "done yet: it runs on this instance");
				assertThat(analysis.getAction()).isEqualTo(PoolConnections.ADVICE);
				FailureAnalysis ddlAnalysis = new DdlExecutionFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(ddlAnalysis).isNotNull();
				assertThat(ddlAnalysis.getDescription())
					.contains("Flyway could not get a connection from the application's pool for the expand scripts");
				assertThat(ddlAnalysis.getAction()).isEqualTo(PoolConnections.ADVICE);
			});
	}

	@Test
	void startupOnADatabaseThatCannotBeReachedIsNotReportedAsAPoolTooSmall() throws IOException {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0)) {
			closedPort = socket.getLocalPort();
		}
		this.contextRunner.withPropertyValues(migration("unreachable", "unreachable_users"))
			.withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:" + closedPort + "/postgres",
					"spring.datasource.username=postgres",
					// as a pool whose database went away after it started: Hikari then
					// reports a timed-out request, as it does for a pool that ran out
					"spring.datasource.hikari.initialization-fail-timeout=-1")
			.run((context) -> {
				assertThat(context).hasFailed();
				assertThat(timedOutRequest(context.getStartupFailure())).as("Hikari's timed-out request")
					.hasCauseInstanceOf(PSQLException.class);
				assertThat(new ZdmFailureAnalyzer().analyze(context.getStartupFailure())).isNull();
				assertThat(new DdlExecutionFailureAnalyzer().analyze(context.getStartupFailure())).isNull();
			});
	}

	@Test
	void aBackgroundExpandOnAPoolTooSmallForItIsRefusedAtOnce() {
		// before, the expand held both connections and failed every 30 s, each try
		// taking the pool from the application that served meanwhile
		this.contextRunner.withPropertyValues(postgres.springProperties())
			.withPropertyValues(migration("tiny", "tiny_users"))
			.withPropertyValues("zdm.ddl.expand-at-startup=false", "spring.datasource.hikari.maximum-pool-size=2",
					"spring.datasource.hikari.connection-timeout=30000")
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
				assertThat(analysis.getDescription()).contains("Migration 'tiny': its expand DDL holds 3 of the "
						+ "application pool's connections at once (the session holding the migration's lock and "
						+ "Flyway's two), and the pool opens at most 2: it could never run");
				assertThat(analysis.getAction()).isEqualTo(PoolConnections.ADVICE);
			});
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_attribute WHERE attrelid = 'tiny_users'::regclass "
					+ "AND attname = 'email_address'", Integer.class))
			.isZero();
	}

	@Test
	void backgroundExpandsOfTwoMigrationsOnAPoolOfFourRunOneAtATime() throws Exception {
		String[] first = migration("first_of_two", "first_of_two");
		String[] second = migration("second_of_two", "second_of_two");
		// both tables held by an open transaction: the expand that runs waits for its
		// lock, holding 3 of the pool's 4 connections; the other waits its turn
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM first_of_two, second_of_two");
			}
			this.contextRunner.withPropertyValues(postgres.springProperties())
				.withPropertyValues(first)
				.withPropertyValues(second)
				.withPropertyValues("zdm.ddl.expand-at-startup=false", "zdm.ddl.lock-timeout=100ms",
						"spring.datasource.hikari.maximum-pool-size=4",
						"spring.datasource.hikari.connection-timeout=30000")
				.run((context) -> {
					assertThat(context).hasNotFailed();
					ExpandRunner expands = context.getBean(ExpandRunner.class);
					await().atMost(Duration.ofSeconds(30)).until(() -> {
						List<ExpandProgress.State> states = List.of(expands.expandProgress("first_of_two").state(),
								expands.expandProgress("second_of_two").state());
						return states.contains(ExpandProgress.State.WAITING_FOR_LOCK)
								&& states.contains(ExpandProgress.State.QUEUED);
					});
					blocker.commit();
					await().atMost(Duration.ofSeconds(30))
						.until(() -> expands.expandProgress("first_of_two").state() == ExpandProgress.State.DONE
								&& expands.expandProgress("second_of_two").state() == ExpandProgress.State.DONE);
				});
		}
	}

	@Test
	void aBackfillOnAPoolTooSmallForItIsRefusedAtOnce() {
		String[] migration = migration("small_copy", "small_copy");
		// expanded first, on a pool with room
		this.contextRunner.withPropertyValues(postgres.springProperties())
			.withPropertyValues(migration)
			.run((context) -> assertThat(context).hasNotFailed());
		// before, a run held one of the pool's two connections and waited 30 s for the
		// other while every request of the application waited with it
		this.contextRunner.withPropertyValues(postgres.springProperties())
			.withPropertyValues(migration)
			.withPropertyValues("zdm.migrations.small_copy.phase=backfill",
					"spring.datasource.hikari.maximum-pool-size=2", "spring.datasource.hikari.connection-timeout=30000")
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
				assertThat(analysis.getDescription()).contains(
						"Migration 'small_copy': its backfill holds 2 of the "
								+ "application pool's connections at once while it runs",
						"and the pool opens at most 2");
				assertThat(analysis.getAction()).isEqualTo(PoolConnections.ADVICE);
			});
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM zdm_backfill WHERE migration_id = 'small_copy'", Integer.class))
			.isZero();
	}

	@Test
	void backfillsOfTwoMigrationsOnAPoolOfFourRunOneAtATime() {
		String[] first = migration("first_copy", "first_copy");
		String[] second = migration("second_copy", "second_copy");
		for (String table : List.of("first_copy", "second_copy")) {
			postgres.jdbc()
				.execute("INSERT INTO " + table + " SELECT i, 'User' || i || '@Example.com' "
						+ "FROM generate_series(1, 20000) AS i");
		}
		Map<String, List<Long>> batches = new ConcurrentHashMap<>();
		BackfillListener recorder = new BackfillListener() {

			@Override
			public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
				batches.computeIfAbsent(migration.id(), (id) -> new CopyOnWriteArrayList<>()).add(System.nanoTime());
				return Batch.NONE;
			}

		};
		this.contextRunner.withPropertyValues(postgres.springProperties())
			.withPropertyValues(first)
			.withPropertyValues(second)
			.withPropertyValues(TestFleet.properties())
			.withPropertyValues("zdm.migrations.first_copy.phase=backfill", "zdm.migrations.second_copy.phase=backfill",
					"zdm.migrations.first_copy.backfill.max-batch-size=500",
					"zdm.migrations.second_copy.backfill.max-batch-size=500",
					"spring.datasource.hikari.maximum-pool-size=4", "spring.datasource.hikari.connection-timeout=30000")
			.withBean(BackfillListener.class, () -> recorder)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				BackfillService backfills = context.getBean(BackfillService.class);
				await().atMost(Duration.ofSeconds(60))
					.until(() -> backfills.progress("first_copy") != null
							&& backfills.progress("first_copy").state() == BackfillState.VERIFIED
							&& backfills.progress("second_copy") != null
							&& backfills.progress("second_copy").state() == BackfillState.VERIFIED);
			});
		List<Long> firstBatches = batches.get("first_copy");
		List<Long> secondBatches = batches.get("second_copy");
		assertThat(firstBatches).hasSizeGreaterThan(10);
		assertThat(secondBatches).hasSizeGreaterThan(10);
		// one run, copy and verification, after the other on this instance
		boolean firstThenSecond = firstBatches.get(firstBatches.size() - 1) < secondBatches.get(0);
		boolean secondThenFirst = secondBatches.get(secondBatches.size() - 1) < firstBatches.get(0);
		assertThat(firstThenSecond || secondThenFirst).as("the two backfills ran one after the other").isTrue();
	}

	// a migration of its own per test, each on a table of its own: one test's expand
	// leaves the next nothing to do
	private static String[] migration(String id, String table) {
		postgres.jdbc().execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, email text)");
		Path expand = scripts.resolve(table);
		try {
			Files.createDirectories(expand);
			Files.writeString(expand.resolve("V1__add_email_address.sql"),
					"ALTER TABLE " + table + " ADD COLUMN email_address text;");
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		String prefix = "zdm.migrations." + id + ".";
		return new String[] { prefix + "table=" + table, prefix + "up.email_address=lower(email)",
				prefix + "phase=dual-write", prefix + "expand=filesystem:" + expand.toAbsolutePath() };
	}

	// a Throwable, not the SQLException (an Iterable), for AssertJ
	private static @Nullable Throwable timedOutRequest(Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLTransientConnectionException timedOut) {
				return timedOut;
			}
		}
		return null;
	}

	/**
	 * Takes every connection of the application's pool as a migration joins, after zdm's
	 * own participants, and holds them, as zdm's expands in the background do on a pool
	 * too small for them.
	 */
	static class PoolHolder implements MigrationParticipant, DisposableBean {

		static final String REASON = "the test holds every connection of the pool";

		private final HikariDataSource dataSource;

		private final List<Connection> held = new ArrayList<>();

		PoolHolder(DataSource dataSource) {
			this.dataSource = (HikariDataSource) dataSource;
		}

		@Override
		public void beforeJoin(MigrationDefinition migration, MigrationState state) {
			try {
				for (int i = 0; i < this.dataSource.getMaximumPoolSize(); i++) {
					this.held.add(this.dataSource.getConnection());
				}
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
		}

		@Override
		public @Nullable PhaseLimit limit(MigrationDefinition migration) {
			return (this.held.isEmpty()) ? null : new PhaseLimit(Phase.EXPAND, REASON);
		}

		@Override
		public void destroy() throws SQLException {
			for (Connection connection : this.held) {
				connection.close();
			}
		}

	}

}
