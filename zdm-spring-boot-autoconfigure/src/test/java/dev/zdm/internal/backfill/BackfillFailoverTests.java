package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that another instance takes a backfill over from its checkpoint when the runner
 * dies, and says again what the first runner said of the table's own triggers.
 */
class BackfillFailoverTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 30_000;

	private static final int BATCH = 500;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues(TestFleet.properties())
		.withPropertyValues("spring.datasource.hikari.maximum-pool-size=4", "zdm.instance-id=a",
				"zdm.migrations.failover.phase=backfill", "zdm.migrations.failover.table=failover_users",
				"zdm.migrations.failover.up[email_address]=lower(email)",
				"zdm.migrations.failover.backfill.initial-batch-size=" + BATCH,
				"zdm.migrations.failover.backfill.min-batch-size=" + BATCH,
				"zdm.migrations.failover.backfill.max-batch-size=" + BATCH,
				"zdm.migrations.failover.backfill.pause=20ms", "zdm.migrations.failover.backfill.vacuum-every-rows=0",
				// a copy of at least 10 s: the kill lands in it even on a slow machine
				"zdm.migrations.failover.backfill.max-rows-per-second=3000");

	@Test
	void backfillResumesFromCheckpointAfterRunnerDiesAndTheTakeOverWarnsOfTheTablesOwnTrigger() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("""
				CREATE TABLE failover_users (id bigint PRIMARY KEY, email text NOT NULL, email_address text,
				    touches int NOT NULL DEFAULT 0);
				CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS
				    $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$;
				CREATE TRIGGER count_touch BEFORE UPDATE ON failover_users FOR EACH ROW EXECUTE FUNCTION count_touch();
				""");
		jdbc.update("INSERT INTO failover_users (id, email) SELECT i, 'User' || i || '@Example.COM' "
				+ "FROM generate_series(1, ?) AS i", ROWS);
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		PhaseController[] other = new PhaseController[1];
		HeartbeatCounter heartbeatsOfB = new HeartbeatCounter();
		long[] checkpointBeforeKill = new long[1];
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger runnerLog = (Logger) LoggerFactory.getLogger(BackfillRunner.class);
		log.start();
		runnerLog.addAppender(log);
		try {
			this.contextRunner.run((context) -> {
				assertThat(context).hasSingleBean(BackfillParticipant.class).hasSingleBean(BackfillService.class);
				await().atMost(Duration.ofSeconds(20)).until(() -> {
					BackfillProgress progress = service.progress("failover");
					return progress != null && progress.rowsDone() > 5 * BATCH;
				});
				assertThat(service.progress("failover").runner()).isEqualTo("a");
				other[0] = startInstanceB(context.getBean(PhaseController.class).migrations().get(0).toBuilder(),
						heartbeatsOfB);
				// at each heartbeat b tries to become the runner
				heartbeatsOfB.awaitHeartbeats(5);
				assertThat(service.progress("failover").runner()).isEqualTo("a");
				Integer runnerPid = jdbc.queryForObject(
						"SELECT runner_pid FROM zdm_backfill WHERE migration_id = 'failover'", Integer.class);
				// kill the runner in the middle of a batch
				await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1)).until(() -> {
					Map<String, Object> batch = jdbc
						.queryForMap("SELECT a.state, b.last_key FROM pg_stat_activity a, zdm_backfill b "
								+ "WHERE a.pid = ? AND b.migration_id = 'failover'", runnerPid);
					checkpointBeforeKill[0] = Long.parseLong((String) batch.get("last_key"));
					return !"idle".equals(batch.get("state"));
				});
				jdbc.queryForObject("SELECT pg_terminate_backend(?)", Boolean.class, runnerPid);
			});
			await().atMost(Duration.ofSeconds(30)).until(() -> {
				BackfillProgress progress = service.progress("failover");
				return progress.state() == BackfillState.VERIFIED;
			});
			BackfillProgress progress = service.progress("failover");
			assertThat(progress.runner()).isEqualTo("b");
			long resumedFrom = Long.parseLong(progress.resumedFrom());
			assertThat(resumedFrom).isBetween(checkpointBeforeKill[0], checkpointBeforeKill[0] + BATCH);
			assertThat(progress.errors()).isPositive();
			assertThat(progress.lastError()).as("the killed run's error, once verified").isNull();
			assertThat(progress.verification().succeeded()).isTrue();
			assertThat(jdbc.queryForObject(
					"SELECT count(*) FROM failover_users WHERE email_address IS DISTINCT FROM lower(email)",
					Long.class))
				.isZero();
			// every row rewritten exactly once: the killed batch rolled back, none
			// committed twice
			assertThat(jdbc.queryForList("SELECT DISTINCT touches FROM failover_users", Integer.class))
				.containsExactly(1);
			// the trigger is named by the runner that started the copy, and again by the
			// one that took it over: the first one's logs may be gone with it
			List<String> said = events(log).stream()
				.filter((event) -> event.getFormattedMessage().contains("migration 'failover'"))
				.filter((event) -> event.getFormattedMessage().contains("backfill run starts on")
						|| event.getLevel() == Level.WARN && event.getFormattedMessage().contains("row triggers"))
				.map(ILoggingEvent::getFormattedMessage)
				.toList();
			// (a may have resumed once itself before it stopped, and said it again then)
			assertThat(said).as("each run's start and its warning").hasSizeGreaterThanOrEqualTo(4);
			assertThat(said.size() % 2).as("a warning after each run's start, in %s", said).isZero();
			assertThat(said.get(0)).contains("backfill run starts on a");
			assertThat(said.get(said.size() - 2)).contains("backfill run starts on b from key");
			for (int i = 0; i < said.size(); i += 2) {
				assertThat(said.get(i)).contains("backfill run starts on");
				assertThat(said.get(i + 1)).as("what follows " + said.get(i))
					.contains("table \"public\".\"failover_users\" has row triggers of its own that fire for every "
							+ "row the backfill writes: count_touch.");
			}
		}
		finally {
			runnerLog.detachAppender(log);
			if (other[0] != null) {
				other[0].stop();
			}
		}
	}

	private PhaseController startInstanceB(dev.zdm.migration.MigrationDefinition.Builder migration,
			HeartbeatCounter heartbeats) {
		DataSource dataSource = postgres.newDataSource("b", 4);
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration.requestedPhase(Phase.BACKFILL).build()), InstanceInfo.ofThisProcess("b", "test", "1"),
				TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of()), heartbeats));
		controller.start();
		return controller;
	}

	// a copy taken as the appender appends (under its lock): other classes' backfills log
	// on the same logger while this one reads
	private static List<ILoggingEvent> events(ListAppender<ILoggingEvent> log) {
		synchronized (log) {
			return new ArrayList<>(log.list);
		}
	}

}
