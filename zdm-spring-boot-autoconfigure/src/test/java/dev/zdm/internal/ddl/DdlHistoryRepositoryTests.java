package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link DdlHistoryRepository} on a real PostgreSQL.
 */
class DdlHistoryRepositoryTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@BeforeAll
	static void createZdmTables() {
		new ZdmSchema(postgres.dataSource()).migrate();
	}

	@Test
	void lockTimeoutHistoryKeepsTheMostRecentRowsPerMigrationWhileTheTotalsStayExact() {
		DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource());
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		states.register("kept-a");
		states.register("kept-b");
		StatementKey a = new StatementKey("kept-a", DdlStep.EXPAND, "V1__a.sql", 1);
		StatementKey b = new StatementKey("kept-b", DdlStep.EXPAND, "V1__b.sql", 1);
		history.statementStarted(a, "ALTER TABLE a ADD COLUMN x text", 1);
		history.statementStarted(b, "ALTER TABLE b ADD COLUMN x text", 2);
		List<BlockingSession> blockers = List.of(
				new BlockingSession(101, "idle in transaction", "app", Duration.ofSeconds(2), Duration.ofSeconds(1),
						"SELECT 1"),
				new BlockingSession(102, "active", "app", Duration.ofSeconds(3), Duration.ofSeconds(3), "SELECT 2"));
		int extra = 25;
		for (int attempt = 1; attempt <= DdlHistoryRepository.KEPT_LOCK_TIMEOUTS + extra; attempt++) {
			history.lockTimeout(a, attempt, Duration.ofMillis(100), blockers, "blocked by pid 101");
		}
		for (int attempt = 1; attempt <= 3; attempt++) {
			history.lockTimeout(b, attempt, Duration.ofMillis(100), blockers, "blocked by pid 101");
		}
		JdbcTemplate jdbc = postgres.jdbc();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM zdm_ddl_lock_timeout WHERE migration_id = 'kept-a'",
				Integer.class))
			.isEqualTo(DdlHistoryRepository.KEPT_LOCK_TIMEOUTS);
		assertThat(jdbc.queryForList(
				"SELECT attempt FROM zdm_ddl_lock_timeout WHERE migration_id = 'kept-a' ORDER BY id LIMIT 1",
				Integer.class))
			.as("the oldest kept is the first after the deleted ones")
			.containsExactly(extra + 1);
		assertThat(jdbc.queryForObject("SELECT count(*) FROM zdm_ddl_blocker b JOIN zdm_ddl_lock_timeout t "
				+ "ON t.id = b.lock_timeout_id WHERE t.migration_id = 'kept-a'", Integer.class))
			.isEqualTo(2 * DdlHistoryRepository.KEPT_LOCK_TIMEOUTS);
		assertThat(jdbc.queryForObject("SELECT count(*) FROM zdm_ddl_blocker", Integer.class))
			.as("the blockers of deleted rows go with them")
			.isEqualTo(2 * (DdlHistoryRepository.KEPT_LOCK_TIMEOUTS + 3));
		assertThat(jdbc.queryForObject("SELECT count(*) FROM zdm_ddl_lock_timeout WHERE migration_id = 'kept-b'",
				Integer.class))
			.as("another migration's rows are its own")
			.isEqualTo(3);
		DdlStatus.Statement statement = history.status("kept-a", 10).statements().get(0);
		assertThat(statement.lockTimeouts()).isEqualTo(DdlHistoryRepository.KEPT_LOCK_TIMEOUTS + extra);
		assertThat(history.status("kept-a", 10).lockTimeouts()).hasSize(10)
			.first()
			.satisfies((latest) -> assertThat(latest.attempt())
				.isEqualTo(DdlHistoryRepository.KEPT_LOCK_TIMEOUTS + extra));
	}

	@Test
	void pauseIsKeptUntilResumedAndTheFirstPauseWins() {
		DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource());
		new MigrationStateRepository(postgres.dataSource()).register("paused-one");
		assertThat(history.findPause("paused-one", DdlStep.EXPAND)).isNull();
		DdlPause first = history.pause("paused-one", DdlStep.EXPAND, "instance-a");
		DdlPause second = history.pause("paused-one", DdlStep.EXPAND, "instance-b");
		assertThat(second).isEqualTo(first);
		assertThat(first.instanceId()).isEqualTo("instance-a");
		assertThat(history.findPause("paused-one", DdlStep.CONTRACT)).isNull();
		assertThat(history.resume("paused-one", DdlStep.EXPAND)).isTrue();
		assertThat(history.resume("paused-one", DdlStep.EXPAND)).isFalse();
		assertThat(history.findPause("paused-one", DdlStep.EXPAND)).isNull();
	}

}
