package dev.zdm.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.TableLockFigures;
import dev.zdm.migration.TableName;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that the beans {@link ZdmAutoConfiguration} offers as replaceable are the ones
 * zdm uses inside when the application defines its own.
 */
class ReplaceableBeansTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues("zdm.fleet.heartbeat-interval=100ms");

	@Test
	void applicationsLockInspectorIsTheOneTheBackfillChecksLocksWith() {
		postgres.jdbc()
			.execute("CREATE TABLE inspected_users (id bigint PRIMARY KEY, email text, email_address text);"
					+ "INSERT INTO inspected_users (id, email) SELECT i, 'User' || i FROM generate_series(1, 100) AS i");
		this.contextRunner.withBean(LockInspector.class, () -> new CrowdedLockInspector(postgres.dataSource()))
			.withPropertyValues("zdm.migrations.inspected.table=inspected_users",
					"zdm.migrations.inspected.phase=backfill",
					"zdm.migrations.inspected.up[email_address]=lower(email)",
					"zdm.migrations.inspected.backfill.max-lock-waiters=2",
					"zdm.migrations.inspected.backfill.throttle-check-interval=50ms")
			.run((context) -> {
				assertThat(context).hasNotFailed()
					.getBean(LockInspector.class)
					.isInstanceOf(CrowdedLockInspector.class);
				CrowdedLockInspector inspector = (CrowdedLockInspector) context.getBean(LockInspector.class);
				BackfillService service = context.getBean(BackfillService.class);
				await().atMost(Duration.ofSeconds(30)).until(() -> {
					BackfillProgress progress = service.progress("inspected");
					return progress != null && progress.state() == BackfillState.THROTTLED;
				});
				assertThat(inspector.tables).contains("inspected_users");
				BackfillProgress progress = service.progress("inspected");
				assertThat(progress.throttleReason()).startsWith("5 sessions wait for a lock on");
				assertThat(progress.rowsDone()).isZero();
				assertThat(postgres.jdbc()
					.queryForObject("SELECT count(*) FROM inspected_users WHERE email_address IS NOT NULL", Long.class))
					.isZero();
			});
	}

	@Test
	void applicationsDdlHistoryRepositoryIsTheOneTheExpandIsRecordedIn(@TempDir Path scripts) throws Exception {
		postgres.jdbc().execute("CREATE TABLE recorded_users (id bigint PRIMARY KEY, email text)");
		Files.writeString(scripts.resolve("V1__add_email_address.sql"),
				"ALTER TABLE recorded_users ADD COLUMN email_address text;");
		this.contextRunner.withBean(DdlHistoryRepository.class, () -> new WatchedDdlHistory(postgres.dataSource()))
			.withPropertyValues("zdm.migrations.recorded.table=recorded_users", "zdm.migrations.recorded.phase=expand",
					"zdm.migrations.recorded.expand=filesystem:" + scripts.toAbsolutePath())
			.run((context) -> {
				assertThat(context).hasNotFailed();
				WatchedDdlHistory history = (WatchedDdlHistory) context.getBean(DdlHistoryRepository.class);
				await().atMost(Duration.ofSeconds(30)).until(() -> history.stepsDone.contains("recorded/expand"));
				assertThat(history.statementsStarted).hasPositiveValue();
				assertThat(history.isStepDone("recorded", DdlStep.EXPAND)).isTrue();
			});
	}

	/**
	 * A lock inspector that reports five sessions waiting on every table.
	 */
	static class CrowdedLockInspector extends LockInspector {

		final Set<String> tables = ConcurrentHashMap.newKeySet();

		CrowdedLockInspector(DataSource dataSource) {
			super(dataSource);
		}

		@Override
		public TableLockFigures tableLockFigures(TableName table) {
			this.tables.add(table.table().name());
			return new TableLockFigures(5, 5, Duration.ofSeconds(1), List.of(), null, null);
		}

	}

	/**
	 * A DDL history that counts what it records.
	 */
	static class WatchedDdlHistory extends DdlHistoryRepository {

		final Set<String> stepsDone = ConcurrentHashMap.newKeySet();

		final AtomicInteger statementsStarted = new AtomicInteger();

		WatchedDdlHistory(DataSource dataSource) {
			super(dataSource);
		}

		@Override
		public void stepDone(String migrationId, DdlStep step) {
			super.stepDone(migrationId, step);
			this.stepsDone.add(migrationId + "/" + step.value());
		}

		@Override
		public void statementStarted(StatementKey key, String sql, int checksum) {
			super.statementStarted(key, sql, checksum);
			this.statementsStarted.incrementAndGet();
		}

	}

}
