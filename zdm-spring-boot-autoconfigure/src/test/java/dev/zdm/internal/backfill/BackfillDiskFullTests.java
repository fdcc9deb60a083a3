package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static dev.zdm.testing.BackfillFixtures.migration;
import static dev.zdm.testing.BackfillFixtures.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests what a backfill whose copy fails for want of disk says, on a real PostgreSQL: the
 * copy's writes refused with PostgreSQL's {@code disk_full} (53100, staged by a trigger
 * that raises it for the copy's writes only). An outside run with the database's disk
 * full saw {@code backfill run failed ..., it is retried from its checkpoint} every few
 * seconds, the backfill shown running, and no word of what it meant or what to do.
 */
class BackfillDiskFullTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void runFailingOnAFullDiskSaysWhatItMeansAndResumesFromItsCheckpointOnceThereIsRoom() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE full_users (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
		jdbc.update("INSERT INTO full_users (id, email) SELECT i, 'User' || i || '@Example.COM' "
				+ "FROM generate_series(1, 2000) AS i");
		jdbc.execute("""
				CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
				  IF current_setting('zdm.backfill', true) = 'on' THEN
				    RAISE EXCEPTION 'could not extend file "base/16384/16415": No space left on device'
				      USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
				  END IF;
				  RETURN NEW;
				END $$""");
		jdbc.execute("CREATE TRIGGER full_disk BEFORE UPDATE ON full_users FOR EACH ROW EXECUTE FUNCTION full_disk()");
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger participantLog = (Logger) LoggerFactory.getLogger(BackfillParticipant.class);
		log.start();
		participantLog.addAppender(log);
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		PhaseController controller = TestEngine.phaseController(postgres.newDataSource("full-a", 4),
				List.of(migration("full", "full_users", Phase.BACKFILL, settings(200, 100, 200, Duration.ZERO))),
				InstanceInfo.ofThisProcess("full-a", "test", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(postgres.dataSource(), TestFleet.TIMEOUT, List.of())));
		controller.start();
		try {
			await().atMost(Duration.ofSeconds(30))
				.until(() -> events(log).stream()
					.anyMatch((event) -> event.getLevel() == Level.WARN
							&& event.getFormattedMessage().contains("migration 'full': backfill run failed")));
			String warned = events(log).stream()
				// this migration's: other classes' backfills log on the same logger
				// beside it
				.filter((event) -> event.getFormattedMessage().contains("migration 'full': backfill run failed"))
				.findFirst()
				.orElseThrow()
				.getFormattedMessage();
			assertThat(warned).contains("it is retried from its checkpoint", "No space left on device",
					"The database's disk is full (SQLSTATE 53100, disk_full): free space on it", "or grow it",
					"nothing copied is lost");
			await().atMost(Duration.ofSeconds(10))
				.until(() -> service.progress("full").lastError() != null
						&& service.progress("full").lastError().contains("The database's disk is full"));
			// room again: the copy goes on by itself, nothing lost
			jdbc.execute("DROP TRIGGER full_disk ON full_users");
			await().atMost(Duration.ofSeconds(60))
				.until(() -> Boolean.TRUE.equals(jdbc.queryForObject(
						"SELECT verified_at IS NOT NULL FROM zdm_migration WHERE migration_id = 'full'",
						Boolean.class)));
			assertThat(jdbc.queryForObject(
					"SELECT count(*) FROM full_users WHERE email_address IS DISTINCT FROM lower(email)", Long.class))
				.isZero();
		}
		finally {
			controller.stop();
			participantLog.detachAppender(log);
		}
	}

	// a copy taken as the appender appends (under its lock): other classes' backfills log
	// on the same logger while this one reads
	private static List<ILoggingEvent> events(ListAppender<ILoggingEvent> log) {
		synchronized (log) {
			return new ArrayList<>(log.list);
		}
	}

}
