package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the backfill's failure budget: a batch that fails every time stops the
 * backfill in the {@code failed} state after the budget, and only a resume starts it
 * again; a share of failures over the window spends it too.
 */
class BackfillFailureBudgetTests {

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
	void backfillWhoseBatchFailsEveryTimeStopsAfterTheBudgetAndResumesOnCommand() {
		this.jdbc.execute("CREATE TABLE refused (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc
			.update("INSERT INTO refused (id, email) SELECT i, 'User' || i || '@X' FROM generate_series(1, 3000) i");
		// every value the copy writes breaks the constraint, every time
		this.jdbc
			.execute("ALTER TABLE refused ADD CONSTRAINT refused_lower CHECK (email_address = upper(email_address))");
		BackfillSettings settings = BackfillFixtures.settings(500, 100, 500, Duration.ZERO)
			.toBuilder()
			.maxBatchAttempts(4)
			.build();
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		start("refused-a", BackfillFixtures.migration("refused", "refused", Phase.BACKFILL, settings), heartbeats);
		await().atMost(Duration.ofSeconds(30)).until(() -> state("refused") == BackfillState.FAILED);
		BackfillProgress failed = this.service.progress("refused");
		assertThat(failed.paused()).isTrue();
		assertThat(failed.lastError()).contains("the same batch failed 4 times in a row")
			.contains("keys after the first")
			.contains("refused_lower")
			.contains("POST /actuator/zdm/refused/resume");
		assertThat(failed.rowsDone()).isZero();
		// stopped: no instance retries it, whatever the heartbeats
		heartbeats.awaitHeartbeats(20);
		BackfillProgress later = this.service.progress("refused");
		assertThat(later.state()).isEqualTo(BackfillState.FAILED);
		assertThat(later.errors()).isEqualTo(failed.errors());
		this.jdbc.execute("ALTER TABLE refused DROP CONSTRAINT refused_lower");
		assertThat(this.service.resume("refused")).isTrue();
		// the stop's advice, to mend and resume, is taken back; the count of errors stays
		assertThat(this.service.progress("refused").lastError()).isNull();
		assertThat(this.service.progress("refused").errors()).isEqualTo(failed.errors());
		// and no longer shows failed: it waits for a runner
		assertThat(this.service.progress("refused").state()).isNotEqualTo(BackfillState.FAILED);
		await().atMost(Duration.ofSeconds(30)).until(() -> state("refused") == BackfillState.VERIFIED);
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM refused WHERE email_address IS DISTINCT FROM lower(email)", Long.class))
			.isZero();
	}

	// an outside run's 600 rows that up could not convert cost 10 runs and their
	// backoffs, about 2.5 minutes, each, before the backfill stopped on it, naming no key
	@Test
	void aRowWhoseValueUpCannotConvertStopsTheBackfillAtOnceNamingItsKey() throws Exception {
		this.jdbc.execute("CREATE TABLE counted (id bigint PRIMARY KEY, qty_text text, qty integer)");
		this.jdbc.update("INSERT INTO counted (id, qty_text) SELECT i, i::text FROM generate_series(1, 3000) i");
		this.jdbc.update("UPDATE counted SET qty_text = '1234abc' WHERE id = 1234");
		BackfillSettings settings = BackfillFixtures.settings(500, 100, 500, Duration.ZERO)
			.toBuilder()
			.maxBatchAttempts(3)
			.build();
		// the application writes both columns of other rows all along
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		Thread writer = new Thread(() -> {
			while (writing.get()) {
				try {
					long id = ThreadLocalRandom.current().nextLong(2000, 3001);
					this.jdbc.update("UPDATE counted SET qty_text = ?::text, qty = ? WHERE id = ?", id * 2, id * 2, id);
					Thread.sleep(5);
				}
				catch (Exception ex) {
					failure.compareAndSet(null, ex);
					return;
				}
			}
		}, "counted-writer");
		writer.start();
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		start("counted-a",
				MigrationDefinition.builder("counted")
					.requestedPhase(Phase.BACKFILL)
					.table("counted")
					.up("qty", "qty_text::integer")
					.backfill(settings)
					.build(),
				heartbeats);
		await().atMost(Duration.ofSeconds(30)).until(() -> state("counted") == BackfillState.FAILED);
		BackfillProgress failed = this.service.progress("counted");
		assertThat(failed.lastError())
			.startsWith("backfill stopped: the copy of the row with key 1234 failed on its value")
			.contains("so it was not retried")
			.contains("invalid input syntax for type integer: \"1234abc\"")
			.contains("POST /actuator/zdm/counted/resume")
			.doesNotContain("times in a row");
		// the rows before it are copied
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM counted WHERE id < 1234 AND qty IS NULL", Long.class))
			.isZero();
		// mended and resumed, it goes on from there and verifies
		this.jdbc.update("UPDATE counted SET qty_text = '1234' WHERE id = 1234");
		assertThat(this.service.resume("counted")).isTrue();
		await().atMost(Duration.ofSeconds(60)).until(() -> state("counted") == BackfillState.VERIFIED);
		writing.set(false);
		writer.join();
		assertThat(failure.get()).isNull();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM counted WHERE qty IS DISTINCT FROM qty_text::integer",
				Long.class))
			.isZero();
	}

	// a run the database refuses before its first batch (as PostgreSQL refused max(uuid)
	// for the copy's bounds) was retried forever, shown running with no row copied
	@Test
	void runTheDatabaseRefusesBeforeItsFirstBatchStopsAfterTheBudgetAndResumesOnCommand() {
		this.jdbc.execute("CREATE TABLE unstarted (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc
			.update("INSERT INTO unstarted (id, email) SELECT i, 'User' || i || '@X' FROM generate_series(1, 3000) i");
		new ZdmSchema(postgres.dataSource()).migrate();
		// the run's start, which records the copy's bounds, is refused every time
		this.jdbc.execute("CREATE FUNCTION refuse_start() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
				+ "IF NEW.upper_bound IS DISTINCT FROM OLD.upper_bound THEN "
				+ "RAISE EXCEPTION 'no start for %', NEW.migration_id; END IF; RETURN NEW; END $$");
		this.jdbc.execute("CREATE TRIGGER refuse_start BEFORE UPDATE ON zdm_backfill FOR EACH ROW "
				+ "EXECUTE FUNCTION refuse_start()");
		BackfillSettings settings = BackfillFixtures.settings(500, 100, 500, Duration.ZERO)
			.toBuilder()
			.maxBatchAttempts(3)
			.build();
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		start("unstarted-a", BackfillFixtures.migration("unstarted", "unstarted", Phase.BACKFILL, settings),
				heartbeats);
		await().atMost(Duration.ofSeconds(60)).until(() -> state("unstarted") == BackfillState.FAILED);
		BackfillProgress failed = this.service.progress("unstarted");
		assertThat(failed.paused()).isTrue();
		assertThat(failed.lastError()).startsWith("backfill stopped: its run failed 3 times in a row")
			.contains("no start for unstarted")
			.contains("POST /actuator/zdm/unstarted/resume");
		assertThat(failed.lastErrorAt()).isNotNull();
		assertThat(failed.rowsDone()).isZero();
		// stopped: no instance retries it, whatever the heartbeats
		heartbeats.awaitHeartbeats(20);
		assertThat(this.service.progress("unstarted").errors()).isEqualTo(failed.errors());
		this.jdbc.execute("DROP TRIGGER refuse_start ON zdm_backfill");
		assertThat(this.service.resume("unstarted")).isTrue();
		assertThat(this.service.progress("unstarted").lastError()).isNull();
		assertThat(this.service.progress("unstarted").lastErrorAt()).isNull();
		await().atMost(Duration.ofSeconds(30)).until(() -> state("unstarted") == BackfillState.VERIFIED);
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM unstarted WHERE email_address IS DISTINCT FROM lower(email)", Long.class))
			.isZero();
	}

	@Test
	void aRowTheCopyCannotWriteStopsItThereAfterTheRowsBeforeItAndIsNamed() throws Exception {
		this.jdbc.execute("CREATE TABLE one_bad (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc
			.update("INSERT INTO one_bad (id, email) SELECT i, 'User' || i || '@X' FROM generate_series(1, 3000) i");
		// the value up gives for row 1500 alone breaks the constraint
		this.jdbc.execute("ALTER TABLE one_bad ADD CONSTRAINT one_bad_value CHECK (email_address <> 'user1500@x')");
		BackfillSettings settings = BackfillFixtures.settings(500, 100, 500, Duration.ZERO)
			.toBuilder()
			.maxBatchAttempts(3)
			.build();
		// the application writes the other rows the whole time, both sides as at
		// dual-write: updates and inserts
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicReference<Throwable> writeFailure = new AtomicReference<>();
		Thread writer = new Thread(() -> {
			long next = 3001;
			while (writing.get()) {
				try {
					long id = ThreadLocalRandom.current().nextLong(1, 3001);
					if (id != 1500) {
						this.jdbc.update("UPDATE one_bad SET email = 'Writer' || id || '@X', "
								+ "email_address = 'writer' || id || '@x' WHERE id = ?", id);
					}
					this.jdbc.update("INSERT INTO one_bad (id, email, email_address) "
							+ "VALUES (?, 'New' || ? || '@X', 'new' || ? || '@x')", next, next, next);
					next++;
					Thread.sleep(2);
				}
				catch (Exception ex) {
					writeFailure.compareAndSet(null, ex);
					return;
				}
			}
		}, "one-bad-writer");
		writer.start();
		try {
			start("one-bad-a", BackfillFixtures.migration("one-bad", "one_bad", Phase.BACKFILL, settings),
					new HeartbeatCounter());
			await().atMost(Duration.ofSeconds(60)).until(() -> state("one-bad") == BackfillState.FAILED);
			BackfillProgress failed = this.service.progress("one-bad");
			// the batch that failed is the row itself, after every row before it
			assertThat(failed.lastError()).contains("keys after 1499 up to")
				.contains("(at most 1 keys)")
				.contains("one_bad_value");
			assertThat(failed.rowsDone()).isEqualTo(1499);
			assertThat(this.jdbc.queryForObject(
					"SELECT count(*) FROM one_bad WHERE id < 1500 AND email_address IS DISTINCT FROM lower(email)",
					Long.class))
				.isZero();
			this.jdbc.execute("ALTER TABLE one_bad DROP CONSTRAINT one_bad_value");
			assertThat(this.service.resume("one-bad")).isTrue();
			await().atMost(Duration.ofSeconds(60)).until(() -> state("one-bad") == BackfillState.VERIFIED);
		}
		finally {
			writing.set(false);
			writer.join();
		}
		assertThat(writeFailure.get()).isNull();
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM one_bad WHERE email_address IS DISTINCT FROM lower(email)", Long.class))
			.isZero();
	}

	@Test
	void rowsHeldByATransactionIdleForLongerThanTheBudgetAreWaitedForAndTheHolderIsNamed() throws Exception {
		this.jdbc.execute("CREATE TABLE held (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc.update("INSERT INTO held (id, email) SELECT i, 'User' || i || '@X' FROM generate_series(1, 3000) i");
		// a budget of 2 attempts, spent many times over while the rows stay held
		BackfillSettings settings = BackfillFixtures.settings(500, 100, 500, Duration.ZERO)
			.toBuilder()
			.maxBatchAttempts(2)
			.lockTimeout(Duration.ofMillis(100))
			.throttleCheckInterval(Duration.ofMillis(50))
			.build();
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicReference<Throwable> writeFailure = new AtomicReference<>();
		Map<Long, String> acknowledged = new ConcurrentHashMap<>();
		// the application writes rows outside the held ones the whole time, both sides
		Thread writer = new Thread(() -> {
			while (writing.get()) {
				try {
					long id = ThreadLocalRandom.current().nextLong(1, 1401);
					String email = "Writer" + id + "-" + ThreadLocalRandom.current().nextInt(1000) + "@X";
					this.jdbc.update("UPDATE held SET email = ?, email_address = lower(?) WHERE id = ?", email, email,
							id);
					acknowledged.put(id, email);
					Thread.sleep(2);
				}
				catch (Exception ex) {
					writeFailure.compareAndSet(null, ex);
					return;
				}
			}
		}, "held-writer");
		writer.start();
		try (Connection holder = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			int holderPid;
			try (Statement statement = holder.createStatement()) {
				statement.execute("SET application_name = 'forgotten-session'");
				try (ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
					rs.next();
					holderPid = rs.getInt(1);
				}
				statement.execute("SELECT * FROM held WHERE id BETWEEN 1500 AND 1510 FOR UPDATE");
			}
			// then idle in its transaction
			start("held-a", BackfillFixtures.migration("held", "held", Phase.BACKFILL, settings),
					new HeartbeatCounter());
			await().atMost(Duration.ofSeconds(60)).until(() -> errors("held") >= 10);
			BackfillProgress waiting = this.service.progress("held");
			assertThat(waiting.state()).isNotEqualTo(BackfillState.FAILED);
			assertThat(waiting.paused()).isFalse();
			assertThat(waiting.lastError()).contains("lock timeout")
				.contains("likely held by [pid " + holderPid + " (idle in transaction")
				.contains("application 'forgotten-session'")
				.contains("the backfill waits for it, not counted as a failed batch");
			assertThat(waiting.rowsDone()).isLessThan(1510);
			holder.commit();
			await().atMost(Duration.ofSeconds(60)).until(() -> state("held") == BackfillState.VERIFIED);
		}
		finally {
			writing.set(false);
			writer.join();
		}
		assertThat(writeFailure.get()).isNull();
		assertThat(this.jdbc
			.queryForObject("SELECT count(*) FROM held WHERE email_address IS DISTINCT FROM lower(email)", Long.class))
			.isZero();
		acknowledged.forEach((id,
				email) -> assertThat(this.jdbc.queryForObject("SELECT email FROM held WHERE id = ?", String.class, id))
					.isEqualTo(email));
	}

	private long errors(String id) {
		BackfillProgress progress = this.service.progress(id);
		return (progress != null) ? progress.errors() : 0;
	}

	@Test
	void budgetIsSpentByOneBatchFailingInARowOrByAShareOfTheWindow() {
		BackfillFailureBudget sameBatch = new BackfillFailureBudget(
				BackfillSettings.builder().maxBatchAttempts(3).failureBudget(100, 0.5).build());
		assertThat(sameBatch.failed("10")).isNull();
		assertThat(sameBatch.failed("10")).isNull();
		assertThat(sameBatch.failed("10")).contains("the same batch failed 3 times in a row");
		BackfillFailureBudget share = new BackfillFailureBudget(
				BackfillSettings.builder().maxBatchAttempts(3).failureBudget(10, 0.5).build());
		// failures spread over batches that then pass: never three in a row
		for (int i = 0; i < 5; i++) {
			assertThat(share.failed(String.valueOf(i))).isNull();
			share.succeeded();
		}
		assertThat(share.failed("5")).as("5 of the last 10 failed").isNull();
		assertThat(share.failed("5")).as("6 of the last 10 failed").contains("6 of the last 10 batch attempts failed");
	}

	private BackfillState state(String id) {
		BackfillProgress progress = this.service.progress(id);
		return (progress != null) ? progress.state() : BackfillState.PENDING;
	}

	private void start(String instance, MigrationDefinition migration, HeartbeatCounter heartbeats) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of()), heartbeats));
		controller.start();
		this.controllers.add(controller);
	}

}
