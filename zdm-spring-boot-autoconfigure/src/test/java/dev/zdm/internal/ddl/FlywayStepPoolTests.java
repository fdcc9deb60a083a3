package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.util.List;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlTestScripts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link FlywayStep} on a pool too small for it against a real PostgreSQL: the
 * step holds one connection for the migration's lock and Flyway takes two, and a pool
 * that cannot give them is named in the failure with what to do (the step is tried again
 * and would otherwise fail the same way, unexplained, for as long as the pool stays so).
 */
class FlywayStepPoolTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	@Test
	void expandOnAPoolOfTwoFailsSayingThePoolIsTooSmall() {
		postgres.jdbc().execute("CREATE TABLE small_pool (id bigint PRIMARY KEY)");
		new ZdmSchema(postgres.dataSource()).migrate();
		new MigrationStateRepository(postgres.dataSource()).register("small-pool");
		String location = DdlTestScripts.write(this.scripts.resolve("expand"), "V1__add_note.sql",
				"ALTER TABLE small_pool ADD COLUMN note text;");
		MigrationDefinition migration = MigrationDefinition.builder("small-pool").table("small_pool").build();
		HikariConfig config = postgres.database().newPoolConfig("small-pool", 2);
		config.setConnectionTimeout(1_000);
		try (HikariDataSource pool = new HikariDataSource(config); DdlSession session = DdlSession.open(pool)) {
			DdlHistoryRepository history = new DdlHistoryRepository(pool);
			LockSafeExecutor executor = new LockSafeExecutor(pool, DdlSettings.defaults(), history,
					new LockInspector(pool));
			FlywayStep step = new FlywayStep(pool, executor, history, new DdlScriptLoader(new DefaultResourceLoader()));
			assertThatExceptionOfType(DdlExecutionException.class)
				.isThrownBy(
						() -> step.run(session, migration, DdlStep.EXPAND, List.of(location), RetryControl.bounded()))
				.withMessageContaining("Migration 'small-pool': Flyway could not get a connection from the "
						+ "application's pool for the expand scripts")
				.withMessageContaining("at least 3 connections more than the application uses");
		}
	}

	@Test
	void connectionsFlywayLeavesOpenGoBackToThePoolWhenTheStepEnds() throws Exception {
		HikariConfig config = postgres.database().newPoolConfig("returning", 4);
		try (HikariDataSource pool = new HikariDataSource(config)) {
			int left;
			try (ReturningDataSource flyway = new ReturningDataSource(pool)) {
				flyway.getConnection().close();
				flyway.getConnection();
				flyway.getConnection();
				assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isEqualTo(2);
				left = flyway.giveBack();
			}
			assertThat(left).as("left open").isEqualTo(2);
			assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isZero();
		}
	}

}
