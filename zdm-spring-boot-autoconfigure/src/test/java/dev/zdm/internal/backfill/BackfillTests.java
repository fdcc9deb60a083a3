package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongPredicate;

import javax.sql.DataSource;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.slf4j.LoggerFactory;

import org.springframework.boot.health.contributor.Health;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowCallbackHandler;

import dev.zdm.actuate.endpoint.MigrationDescriptor;
import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.backfill.VerificationProgress;
import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static dev.zdm.testing.BackfillFixtures.migration;
import static dev.zdm.testing.BackfillFixtures.settings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the backfill against a real PostgreSQL: {@link BackfillParticipant},
 * {@link BackfillService} and the runner behind them.
 */
class BackfillTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final List<PhaseController> controllers = new ArrayList<>();

	private final Map<String, HeartbeatCounter> heartbeats = new ConcurrentHashMap<>();

	/** How often a backfill checked the load again while it held back. */
	private final AtomicLong heldBackChecks = new AtomicLong();

	private final BackfillListener listener = new BackfillListener() {

		@Override
		public void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
			BackfillTests.this.heldBackChecks.incrementAndGet();
		}

	};

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void backfillCompletesAndVerifiesUnderConcurrentWritesOnHotKeys() throws Exception {
		createUsers("hot_users", 20_000);
		MigrationDefinition migration = migration("hot", "hot_users", Phase.BACKFILL,
				settings(200, 50, 400, Duration.ofMillis(10)));
		try (Traffic traffic = new Traffic("hot_users", 20_000, true)) {
			traffic.awaitWrites(200);
			start("hot-a", migration);
			await().atMost(Duration.ofSeconds(10)).until(() -> rowsDone("hot") > 0);
			long writesWhenStarted = traffic.writes();
			awaitVerified("hot", Duration.ofSeconds(60));
			assertThat(traffic.writes()).as("writes during the backfill").isGreaterThan(writesWhenStarted + 500);
			traffic.awaitWrites(traffic.writes() + 100);
			traffic.stopAndAssertEveryWriteStored();
			assertThat(traffic.writes()).isGreaterThan(1000);
			assertThat(disagreeing("hot_users")).isZero();
			BackfillProgress progress = this.service.progress("hot");
			assertThat(progress.verification().succeeded()).isTrue();
			assertThat(progress.verification().rowsDisagreeing()).isZero();
			assertThat(progress.verification().fleet()).contains("hot-a at backfill");
			// rows the writers deleted before the backfill reached them are not
			// walked, and every row they never deleted is
			assertThat(progress.rowsDone()).isGreaterThanOrEqualTo(20_000 - traffic.everDeleted().size());
			// in batches of at most max-batch-size (400) rows
			assertThat(progress.batches()).isGreaterThanOrEqualTo((progress.rowsDone() + 399) / 400);
		}
	}

	@Test
	void backfillIsNotStartedBeforeTheWholeFleetDualWrites() throws Exception {
		createUsers("early_users", 2_000);
		start("early-old", migration("early", "early_users", Phase.EXPAND, settings(200, 50, 1000, Duration.ZERO)));
		start("early-new", migration("early", "early_users", Phase.BACKFILL, settings(200, 50, 1000, Duration.ZERO)));
		// each heartbeat gives the backfill its chance to start
		this.heartbeats.get("early-new").awaitHeartbeats(5);
		assertThat(this.service.progress("early")).isNull();
		assertThat(disagreeing("early_users")).isEqualTo(2_000);
		this.controllers.remove(0).stop();
		awaitVerified("early", Duration.ofSeconds(20));
		assertThat(disagreeing("early_users")).isZero();
	}

	@Test
	void pauseAndResumeWorkFleetWide() throws Exception {
		createUsers("paused_users", 20_000);
		start("pause-a",
				migration("pause", "paused_users", Phase.BACKFILL, settings(200, 200, 200, Duration.ofMillis(100))));
		await().atMost(Duration.ofSeconds(10)).until(() -> rowsDone("pause") > 1000);
		this.service.pause("pause");
		// the pause is stored at once; the runner sees it at its next checkpoint, commits
		// the batch in flight and ends, releasing its lock
		await().atMost(Duration.ofSeconds(30))
			.until(() -> this.service.progress("pause").state() == BackfillState.PAUSED && !runnerHoldsLock("pause"));
		long paused = rowsDone("pause");
		// each heartbeat starts a run, which finds the backfill paused
		this.heartbeats.get("pause-a").awaitHeartbeats(5);
		assertThat(rowsDone("pause")).isEqualTo(paused);
		assertThat(this.service.progress("pause").paused()).isTrue();
		assertThat(disagreeing("paused_users")).isGreaterThan(0);
		assertThat(this.service.resume("pause")).isTrue();
		awaitVerified("pause", Duration.ofSeconds(30));
		assertThat(disagreeing("paused_users")).isZero();
		assertThat(this.service.progress("pause").resumedFrom()).isNotNull();
	}

	@Test
	void throttleHoldsWhileSessionsWaitOnALock() throws Exception {
		createUsers("locked_users", 20_000);
		BackfillSettings settings = BackfillSettings.builder()
			.batchSizes(200, 200, 200)
			.targetBatchDuration(Duration.ofMillis(50))
			// 100 batches of at least 100 ms: the copy is still running when the lock is
			// taken, even on a slow machine
			.pause(Duration.ofMillis(100))
			.lockTimeout(Duration.ofMillis(200))
			.statementTimeout(Duration.ofSeconds(5))
			.maxLockWaiters(1)
			.maxTransactionAge(Duration.ZERO)
			.throttleCheckInterval(Duration.ofMillis(100))
			.vacuumEveryRows(0)
			.build();
		start("lock-a", migration("lock", "locked_users", Phase.BACKFILL, settings));
		await().atMost(Duration.ofSeconds(10)).until(() -> rowsDone("lock") > 1000);
		await().atMost(Duration.ofSeconds(10)).until(() -> this.service.progress("lock").eta() != null);
		try (Connection holder = postgres.database().newConnection();
				Connection waiter1 = postgres.database().newConnection();
				Connection waiter2 = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("LOCK TABLE locked_users IN SHARE MODE");
			}
			Thread first = waitOnLock(waiter1, 1);
			Thread second = waitOnLock(waiter2, 2);
			await().atMost(Duration.ofSeconds(30))
				.until(() -> this.service.progress("lock").state() == BackfillState.THROTTLED);
			long held = rowsDone("lock");
			long checks = this.heldBackChecks.get();
			await().atMost(Duration.ofSeconds(10)).until(() -> this.heldBackChecks.get() >= checks + 5);
			BackfillProgress progress = this.service.progress("lock");
			assertThat(progress.rowsDone()).isEqualTo(held);
			assertThat(progress.state()).isEqualTo(BackfillState.THROTTLED);
			assertThat(progress.throttleReason()).contains("sessions wait for a lock on public.locked_users");
			// held back, the copy walks no rows and has no time left to estimate: its
			// last
			// rate and ETA would stand still meanwhile
			assertThat(progress.eta()).as("ETA while held back").isNull();
			assertThat(progress.rate()).as("rate while held back").isNull();
			holder.rollback();
			first.join();
			second.join();
		}
		awaitVerified("lock", Duration.ofSeconds(30));
		assertThat(disagreeing("locked_users")).isZero();
	}

	// application sessions queued behind a row another transaction changed wait for its
	// transaction id and for the row, not for a lock on the table: they are shown as
	// waiters (the endpoint, zdm.locks.waiters), but max-lock-waiters does not hold the
	// copy back for them: a table with hot rows has such queues all the time, and the
	// copy, which holds no lock between its batches, does not cause them
	@Test
	void sessionsQueuedOnARowAmongThemselvesAreShownButDoNotHoldTheCopyBack() throws Exception {
		createUsers("row_locked_users", 20_000);
		BackfillSettings settings = BackfillSettings.builder()
			.batchSizes(200, 200, 200)
			.targetBatchDuration(Duration.ofMillis(50))
			.pause(Duration.ofMillis(100))
			.lockTimeout(Duration.ofMillis(200))
			.statementTimeout(Duration.ofSeconds(5))
			.maxLockWaiters(1)
			.maxTransactionAge(Duration.ZERO)
			.throttleCheckInterval(Duration.ofMillis(100))
			.vacuumEveryRows(0)
			.build();
		start("row-lock-a", migration("rowlock", "row_locked_users", Phase.BACKFILL, settings));
		await().atMost(Duration.ofSeconds(10)).until(() -> rowsDone("rowlock") > 1000);
		LockInspector inspector = new LockInspector(postgres.dataSource());
		try (Connection holder = postgres.database().newConnection();
				Connection waiter1 = postgres.database().newConnection();
				Connection waiter2 = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				// the last row: the copy reaches it long after the waits are seen
				statement.execute("UPDATE row_locked_users SET email = email WHERE id = 20000");
			}
			Thread first = updateRow(waiter1, "row_locked_users", 20_000);
			Thread second = updateRow(waiter2, "row_locked_users", 20_000);
			TableName table = TableName.parse("row_locked_users");
			await().atMost(Duration.ofSeconds(10))
				.until(() -> inspector.tableLockFigures(table).waitingSessions() == 2);
			assertThat(inspector.tableLockFigures(table).tableLockWaiters()).isZero();
			long seen = rowsDone("rowlock");
			await().atMost(Duration.ofSeconds(20)).until(() -> rowsDone("rowlock") > seen + 2_000);
			assertThat(inspector.tableLockFigures(table).waitingSessions()).as("still queued").isEqualTo(2);
			String reason = this.service.progress("rowlock").throttleReason();
			assertThat((reason != null) ? reason : "").doesNotContain("sessions wait for a lock");
			holder.rollback();
			first.join();
			second.join();
		}
		awaitVerified("rowlock", Duration.ofSeconds(30));
		assertThat(disagreeing("row_locked_users")).isZero();
	}

	// a trigger of the table's own that stamps and counts changes fired for every row the
	// copy rewrote (a fault run found 19,598 untouched rows stamped and audited): the
	// copy
	// marks its transactions, the trigger can leave them alone, and the runner says so
	@Test
	void theTablesOwnTriggersAreNamedAndCanLeaveTheCopysWritesAloneWhileTheApplicationWrites() throws Exception {
		createUsers("stamped_users", 10_000);
		this.jdbc.execute("ALTER TABLE stamped_users ADD COLUMN changes int NOT NULL DEFAULT 0");
		this.jdbc.execute("CREATE FUNCTION stamped_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
				+ "IF current_setting('zdm.backfill', true) = 'on' THEN RETURN NEW; END IF; "
				+ "NEW.changes := OLD.changes + 1; RETURN NEW; END $$");
		this.jdbc.execute("CREATE TRIGGER stamped_touch BEFORE UPDATE ON stamped_users FOR EACH ROW "
				+ "EXECUTE FUNCTION stamped_touch()");
		// and one that fires for the copy's writes too
		this.jdbc.execute(
				"CREATE FUNCTION stamped_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " + "RETURN NULL; END $$");
		this.jdbc.execute("CREATE TRIGGER stamped_seen AFTER UPDATE ON stamped_users FOR EACH ROW "
				+ "EXECUTE FUNCTION stamped_seen()");
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger runnerLog = (Logger) LoggerFactory.getLogger(BackfillRunner.class);
		log.start();
		runnerLog.addAppender(log);
		Set<Long> written = ConcurrentHashMap.newKeySet();
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		// the application updates rows, both sides as at backfill, through the copy and
		// the verification
		Thread writer = new Thread(() -> {
			while (writing.get()) {
				long id = ThreadLocalRandom.current().nextLong(1, 10_001);
				try {
					this.jdbc.update("UPDATE stamped_users SET email = 'Writer' || id || '@X', "
							+ "email_address = 'writer' || id || '@x' WHERE id = ?", id);
					written.add(id);
					Thread.sleep(2);
				}
				catch (Exception ex) {
					failure.compareAndSet(null, ex);
					return;
				}
			}
		}, "stamped-writer");
		writer.start();
		try {
			start("stamped-a", migration("stamped", "stamped_users", Phase.BACKFILL,
					settings(200, 100, 200, Duration.ofMillis(50))));
			awaitVerified("stamped", Duration.ofSeconds(60));
		}
		finally {
			writing.set(false);
			writer.join();
			runnerLog.detachAppender(log);
		}
		assertThat(failure.get()).isNull();
		assertThat(written).hasSizeGreaterThan(100);
		assertThat(this.service.progress("stamped").rowsUpdated()).isGreaterThan(5_000);
		assertThat(disagreeing("stamped_users")).isZero();
		// the copy's writes left the trigger's count alone, the application's did not
		Map<Long, Integer> changes = new HashMap<>();
		this.jdbc.query("SELECT id, changes FROM stamped_users",
				(RowCallbackHandler) (rs) -> changes.put(rs.getLong(1), rs.getInt(2)));
		assertThat(changes).hasSize(10_000);
		changes.forEach((id, count) -> {
			if (written.contains(id)) {
				assertThat(count).as("changes of row %s, written by the application", id).isPositive();
			}
			else {
				assertThat(count).as("changes of row %s, written by the copy alone", id).isZero();
			}
		});
		assertThat(log.list)
			.filteredOn((event) -> event.getLevel() == Level.WARN
					&& event.getFormattedMessage().contains("migration 'stamped'"))
			.singleElement()
			.satisfies((event) -> assertThat(event.getFormattedMessage())
				.contains("has row triggers of its own that fire for every row the backfill writes: stamped_seen.")
				.contains("current_setting('zdm.backfill', true) = 'on'"));
		// the one that already leaves the copy's writes alone is named, not warned of
		assertThat(log.list)
			.filteredOn((event) -> event.getLevel() == Level.INFO
					&& event.getFormattedMessage().contains("migration 'stamped'")
					&& event.getFormattedMessage().contains("row triggers"))
			.singleElement()
			.satisfies((event) -> assertThat(event.getFormattedMessage())
				.endsWith("read zdm.backfill, the mark of the backfill's writes, and so can leave them alone: "
						+ "stamped_touch"));
	}

	@Test
	void verificationRepairsRowsChangedBehindItsBack() throws Exception {
		createUsers("verify_users", 5_000);
		MigrationDefinition migration = migration("verify", "verify_users", Phase.BACKFILL,
				settings(500, 100, 2000, Duration.ZERO));
		start("verify-a", migration);
		awaitVerified("verify", Duration.ofSeconds(20));
		BackfillVerification first = this.service.progress("verify").verification();
		int corrupted = this.jdbc.update("UPDATE verify_users SET email_address = 'behind its back' WHERE id % 50 = 0");
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger runnerLog = (Logger) LoggerFactory.getLogger(BackfillRunner.class);
		log.start();
		runnerLog.addAppender(log);
		try {
			this.service.verify("verify");
			await().atMost(Duration.ofSeconds(20)).until(() -> {
				BackfillVerification latest = this.service.progress("verify").verification();
				return latest != null && !latest.finishedAt().equals(first.finishedAt());
			});
		}
		finally {
			runnerLog.detachAppender(log);
		}
		// repaired rows are a warning, saying who writes one side only
		assertThat(log.list)
			.filteredOn((event) -> event.getFormattedMessage().contains("migration 'verify'")
					&& event.getFormattedMessage().contains(corrupted + " disagreed"))
			.singleElement()
			.satisfies((event) -> {
				assertThat(event.getLevel()).isEqualTo(Level.WARN);
				assertThat(event.getFormattedMessage()).contains("and were repaired",
						"written on one side only after the copy passed them",
						"a session that bypassed the sync trigger");
			});
		BackfillVerification second = this.service.progress("verify").verification();
		assertThat(second.rowsRepaired()).isEqualTo(corrupted);
		assertThat(second.passes()).isEqualTo(2);
		assertThat(second.rowsDisagreeing()).isZero();
		assertThat(second.rowsChecked()).isEqualTo(5_000);
		assertThat(second.succeeded()).isTrue();
		assertThat(disagreeing("verify_users")).isZero();
	}

	@Test
	void verificationAskedForAgainAndPausedMidPassResumesOnceResumed() throws Exception {
		createUsers("owed_users", 3_000);
		BackfillSettings slow = settings(500, 100, 2000, Duration.ZERO).toBuilder()
			.verificationBatchSize(100)
			.verificationPause(Duration.ofMillis(100))
			.build();
		start("owed-a", migration("owed", "owed_users", Phase.BACKFILL, slow));
		awaitVerified("owed", Duration.ofSeconds(30));
		BackfillVerification first = this.service.progress("owed").verification();
		// rows written on the old side alone, which the verification asked for repairs
		int written = this.jdbc.update("UPDATE owed_users SET email_address = 'behind its back' WHERE id % 100 = 0");
		// the writers leave those rows alone: a write through the application would
		// bring them back in sync before the verification reaches them
		try (Traffic traffic = new Traffic("owed_users", 3_000, true, (id) -> id % 100 == 0)) {
			this.service.verify("owed");
			await().atMost(Duration.ofSeconds(20)).until(() -> {
				VerificationProgress verifying = this.service.progress("owed").verifying();
				return verifying != null && verifying.rowsChecked() >= 500;
			});
			this.service.pause("owed");
			await().atMost(Duration.ofSeconds(20))
				.until(() -> this.service.progress("owed").state() == BackfillState.PAUSED);
			assertThat(this.service.progress("owed").verifying()).as("left half done").isNotNull();
			traffic.awaitWrites(traffic.writes() + 100);
			this.service.resume("owed");
			// the verification asked for is still owed: it resumes and finishes
			await().atMost(Duration.ofSeconds(30)).until(() -> {
				BackfillVerification latest = this.service.progress("owed").verification();
				return latest != null && !latest.finishedAt().equals(first.finishedAt());
			});
			traffic.stopAndAssertEveryWriteStored();
		}
		BackfillProgress progress = this.service.progress("owed");
		assertThat(progress.state()).isEqualTo(BackfillState.VERIFIED);
		assertThat(progress.verification().succeeded()).isTrue();
		assertThat(progress.verification().rowsRepaired()).as("of %s written on one side", written).isPositive();
		assertThat(disagreeing("owed_users")).isZero();
	}

	@Test
	void applicationSyncVerifiesAgainBeforeTheFirstInstanceReadsTheNewSide() throws Exception {
		createUsers("reread_users", 3_000);
		MigrationDefinition migration = migration("reread", "reread_users", Phase.BACKFILL,
				settings(500, 100, 2000, Duration.ZERO))
			.toBuilder()
			.down("email", "email_address")
			.sync(SyncMode.APPLICATION)
			.build();
		start("reread-a", migration);
		awaitVerified("reread", Duration.ofSeconds(30));
		Timestamp firstVerified = verifiedAt("reread");
		// the application writes both sides in its statements, as with sync: application
		try (Traffic traffic = new Traffic("reread_users", 3_000, true)) {
			traffic.awaitWrites(100);
			// a writer outside the application, on the old side only, after the
			// verification: nothing syncs its rows
			this.jdbc.update("INSERT INTO reread_users (id, email) "
					+ "SELECT i, 'Outside' || i || '@Example.COM' FROM generate_series(5000001, 5000020) AS i");
			PhaseController reader = start("reread-b", migration.toBuilder().requestedPhase(Phase.READ_NEW).build());
			await().atMost(Duration.ofSeconds(30)).until(() -> reader.status("reread").effective() == Phase.READ_NEW);
			// it read the new side only once the verification ran again and repaired them
			assertThat(this.jdbc.queryForObject("SELECT count(*) FROM reread_users WHERE id > 5000000 "
					+ "AND email_address IS DISTINCT FROM lower(email)", Long.class))
				.isZero();
			Timestamp secondVerified = verifiedAt("reread");
			assertThat(secondVerified).isAfter(firstVerified);
			assertThat(this.service.progress("reread").verification().rowsRepaired()).isGreaterThanOrEqualTo(20);
			// once an instance has read the new side it is the source of truth: a
			// restarted one does not verify again
			reader.stop();
			PhaseController again = start("reread-c", migration.toBuilder().requestedPhase(Phase.READ_NEW).build());
			await().atMost(Duration.ofSeconds(30)).until(() -> again.status("reread").effective() == Phase.READ_NEW);
			this.heartbeats.get("reread-c").awaitHeartbeats(3);
			assertThat(verifiedAt("reread")).isEqualTo(secondVerified);
			traffic.stopAndAssertEveryWriteStored();
		}
	}

	private Timestamp verifiedAt(String id) {
		return this.jdbc.queryForObject("SELECT verified_at FROM zdm_migration WHERE migration_id = ?", Timestamp.class,
				id);
	}

	@Test
	void rateAndEtaStayTheCopysOnceTheVerificationRan() throws Exception {
		createUsers("paced_users", 3_000);
		BackfillSettings paced = settings(100, 50, 200, Duration.ZERO).toBuilder().maxRowsPerSecond(1_000).build();
		start("paced-a", migration("paced", "paced_users", Phase.BACKFILL, paced));
		awaitVerified("paced", Duration.ofSeconds(30));
		BackfillProgress progress = this.service.progress("paced");
		// the copy is held to max-rows-per-second (1,000 rows/s); the verification is
		// not, and checks the 3,000 rows in one batch of verification-batch-size
		// (10,000) far faster: the rate at the top, its meter and the plan's estimate
		// are the copy's
		assertThat(progress.rate()).as("the copy's rate").isNotNull().isBetween(250.0, 2_000.0);
		assertThat(progress.eta()).as("the copy has nothing left").isNull();
		assertThat(progress.verifying()).isNull();
		// a verification asked for later leaves them too
		BackfillVerification first = progress.verification();
		this.service.verify("paced");
		await().atMost(Duration.ofSeconds(20)).until(() -> {
			BackfillVerification latest = this.service.progress("paced").verification();
			return latest != null && !latest.finishedAt().equals(first.finishedAt());
		});
		assertThat(this.service.progress("paced").rate()).as("the copy's rate").isEqualTo(progress.rate());
	}

	@Test
	void verificationIsMarkedOnlyTogetherWithItsRecord() throws Exception {
		new ZdmSchema(postgres.dataSource()).migrate();
		createUsers("together_users", 2_000);
		try (Connection holder = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				// the verification's record cannot be written while this lock is held
				statement.execute("LOCK TABLE zdm_backfill_verification IN EXCLUSIVE MODE");
			}
			start("together-a",
					migration("together", "together_users", Phase.BACKFILL, settings(500, 100, 2000, Duration.ZERO)));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> this.jdbc.queryForObject("SELECT count(*) FROM pg_stat_activity "
						+ "WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO zdm_backfill_verification%'",
						Long.class) > 0);
			assertThat(verified("together")).as("marked verified while its record is not written").isFalse();
			holder.commit();
		}
		awaitVerified("together", Duration.ofSeconds(20));
		assertThat(this.service.progress("together").verification().succeeded()).isTrue();
	}

	@Test
	void backfillVerifiesAgainAfterAnInstanceWritesOldOnly() throws Exception {
		createUsers("void_users", 5_000);
		start("void-a", migration("void", "void_users", Phase.BACKFILL, settings(500, 100, 2000, Duration.ZERO)));
		awaitVerified("void", Duration.ofSeconds(20));
		PhaseController old = start("void-old",
				migration("void", "void_users", Phase.EXPAND, settings(500, 100, 2000, Duration.ZERO)));
		assertThat(verified("void")).isFalse();
		// the health no longer says verified, and says why
		BackfillProgressSampler sampler = new BackfillProgressSampler(this.service);
		sampler.afterHeartbeat(old.status("void"));
		Health health = new ZdmHealthIndicator(old, null, sampler, null, null, null, null,
				ZdmHealthIndicator.Thresholds.DEFAULTS)
			.health();
		assertThat(health.getDetails()).extractingByKey("void")
			.asString()
			.contains("backfill=verification voided: instance void-old runs expand");
		// so does the endpoint: the copy's record says verified until it runs again
		assertThat(this.service.progress("void").state()).isEqualTo(BackfillState.VERIFIED);
		MigrationDescriptor described = endpoint(old).migration("void");
		assertThat(described.backfill().state()).isEqualTo(BackfillState.PENDING);
		assertThat(described.pacing().heldBackBy()).startsWith("verification voided: instance void-old runs expand");
		this.jdbc.update("UPDATE void_users SET email = 'OLD-ONLY@EXAMPLE.COM' WHERE id <= 10");
		old.stop();
		awaitVerified("void", Duration.ofSeconds(20));
		assertThat(disagreeing("void_users")).isZero();
		assertThat(this.service.progress("void").verification().rowsRepaired()).isEqualTo(10);
	}

	@Test
	void verificationAskedForAtReadNewRepairsNothingSaysWhyAndIsNoProblemOnceContracted() throws Exception {
		createUsers("late_users", 2_000);
		PhaseController first = start("late-a",
				migration("late", "late_users", Phase.BACKFILL, settings(500, 100, 2000, Duration.ZERO)));
		awaitVerified("late", Duration.ofSeconds(20));
		first.stop();
		PhaseController reading = start("late-b",
				migration("late", "late_users", Phase.READ_NEW, settings(500, 100, 2000, Duration.ZERO)));
		await().atMost(Duration.ofSeconds(20)).until(() -> reading.status("late").effective() == Phase.READ_NEW);
		BackfillVerification before = this.service.progress("late").verification();
		// the application's traffic at read-new, both columns, on every row but those
		// the outside writer below writes, from before that write until after the
		// verification and the health read
		Traffic traffic = new Traffic("late_users", 2_000, true, (id) -> id % 100 == 0);
		traffic.awaitWrites(100);
		// a writer outside the application wrote the new side alone
		int written = this.jdbc.update("UPDATE late_users SET email_address = 'outside' WHERE id % 100 = 0");
		this.service.verify("late");
		await().atMost(Duration.ofSeconds(20)).until(() -> {
			BackfillVerification latest = this.service.progress("late").verification();
			return latest != null && !latest.finishedAt().equals(before.finishedAt());
		});
		BackfillProgress progress = this.service.progress("late");
		assertThat(progress.verification().succeeded()).isFalse();
		assertThat(progress.verification().rowsDisagreeing()).isEqualTo(written);
		assertThat(progress.lastError()).contains(written + " rows disagreed, not repaired",
				"the final check before the contract lists their keys");
		assertThat(disagreeing("late_users")).as("the new side is the source of truth: kept").isEqualTo(written);
		BackfillProgressSampler sampler = new BackfillProgressSampler(this.service);
		sampler.afterHeartbeat(reading.status("late"));
		assertThat(health(reading, sampler).getDetails()).extractingByKey("late")
			.asString()
			.contains("backfill verification failed");
		traffic.awaitWrites(traffic.writes() + 100);
		traffic.stopAndAssertEveryWriteStored();
		assertThat(disagreeing("late_users")).as("the application's writes agree; the outside ones are kept")
			.isEqualTo(written);
		// once the contract ran the backfill's record is history, not a problem
		new MigrationStateRepository(postgres.dataSource()).markContracted("late", "late-b");
		this.heartbeats.get("late-b").awaitHeartbeats(2);
		assertThat(reading.status("late").state().isContracted()).isTrue();
		assertThat(health(reading, sampler).getDetails()).extractingByKey("late").asString().doesNotContain("problems");
	}

	private ZdmEndpoint endpoint(PhaseController controller) {
		return new ZdmEndpoint(controller, new LockFiguresSampler(new LockInspector(postgres.dataSource())),
				this.service, new DdlHistoryRepository(postgres.dataSource()), null, null, null, null, null, null, null,
				null);
	}

	private static Health health(PhaseController controller, BackfillProgressSampler sampler) {
		return new ZdmHealthIndicator(controller, null, sampler, null, null, null, null,
				ZdmHealthIndicator.Thresholds.DEFAULTS)
			.health();
	}

	@Test
	void backfillStaysVerifiedWhenAnInstanceRunsExpandWhileTheSyncTriggerKeepsTheNewSide() throws Exception {
		createUsers("kept_users", 3_000);
		MigrationDefinition migration = migration("kept", "public.kept_users", Phase.BACKFILL,
				settings(500, 100, 2000, Duration.ZERO));
		// installed with the expand: every writer's old columns reach the new ones
		new SameTableSyncTrigger(postgres.dataSource()).expandStatements(migration).forEach(this.jdbc::execute);
		start("kept-a", migration);
		awaitVerified("kept", Duration.ofSeconds(20));
		// the traffic of an instance at expand: the old column only, from before it joins
		// until after the verification was read again
		try (Traffic traffic = new Traffic("kept_users", 3_000, false)) {
			traffic.awaitWrites(100);
			PhaseController old = start("kept-old", migration.toBuilder().requestedPhase(Phase.EXPAND).build());
			this.heartbeats.get("kept-old").awaitHeartbeats(3);
			assertThat(old.status("kept").effective()).isEqualTo(Phase.EXPAND);
			traffic.awaitWrites(traffic.writes() + 300);
			assertThat(verified("kept")).as("verified, with the trigger keeping both sides").isTrue();
			assertThat(old.status("kept").state().verificationVoidReason()).isNull();
			traffic.stopAndAssertEveryWriteStored();
		}
		// what the instance at expand wrote, the old column only, reached the new one
		assertThat(disagreeing("kept_users")).isZero();
	}

	@Test
	void runnerKilledWithNoInstanceToTakeOverIsShownGoneAndStalledUntilOneRunsBackfill() throws Exception {
		createUsers("orphan_users", 10_000);
		MigrationDefinition migration = migration("orphan", "orphan_users", Phase.BACKFILL,
				settings(100, 100, 100, Duration.ofMillis(100)));
		try (Traffic traffic = new Traffic("orphan_users", 10_000, true)) {
			HikariDataSource poolOfRunner = postgres.newDataSource("orphan-a", 4);
			start("orphan-a", migration, poolOfRunner);
			PhaseController dualWriting = start("orphan-b",
					migration.toBuilder().requestedPhase(Phase.DUAL_WRITE).build());
			await().atMost(Duration.ofSeconds(20)).until(() -> rowsDone("orphan") > 500);
			assertThat(this.service.progress("orphan").runner()).isEqualTo("orphan-a");
			// kill -9: its sessions end and it never reaches the database again
			killProcess(poolOfRunner, "orphan-a");
			await().atMost(Duration.ofSeconds(20))
				.until(() -> dualWriting.status("orphan")
					.fleet()
					.stream()
					.noneMatch((member) -> member.instanceId().equals("orphan-a") && member.live()));
			BackfillProgress orphaned = this.service.progress("orphan");
			assertThat(orphaned.state()).as("the record as the runner left it")
				.isIn(BackfillState.RUNNING, BackfillState.THROTTLED);
			BackfillRunnerGone gone = BackfillRunnerGone.of(dualWriting.status("orphan"), orphaned);
			assertThat(gone).isNotNull();
			assertThat(gone.stalled()).isTrue();
			assertThat(gone.description()).startsWith("runner orphan-a is gone (no heartbeat since ")
				.endsWith("no live instance runs backfill or a later phase to take it over: it resumes from its "
						+ "checkpoint once one does");
			BackfillProgressSampler sampler = new BackfillProgressSampler(this.service);
			sampler.afterHeartbeat(dualWriting.status("orphan"));
			assertThat(health(dualWriting, sampler).getDetails()).extractingByKey("orphan")
				.asString()
				.contains("backfill=pending (runner orphan-a is gone")
				.contains("problems=[backfill stalled: runner orphan-a is gone");
			MigrationDescriptor described = endpoint(dualWriting).migration("orphan");
			assertThat(described.backfill().state()).isEqualTo(BackfillState.PENDING);
			assertThat(described.backfill().throttleReason()).isEqualTo(gone.description());
			// nothing walks rows meanwhile: no rate, no time left, as a walk held back
			assertThat(described.backfill().rate()).isNull();
			assertThat(described.backfill().eta()).isNull();
			assertThat(described.backfill().rowsDone()).isEqualTo(orphaned.rowsDone());
			// the meters say the same as the endpoint, not the state the runner left
			MeterRegistry meters = new SimpleMeterRegistry();
			new ZdmMetrics(dualWriting, new LockFiguresSampler(new LockInspector(postgres.dataSource())), sampler, null,
					null)
				.bindTo(meters);
			for (BackfillState state : BackfillState.values()) {
				assertThat(meters.get("zdm.backfill.state")
					.tags("migration", "orphan", "state", state.value())
					.gauge()
					.value()).as(state.value()).isEqualTo((state == BackfillState.PENDING) ? 1 : 0);
			}
			assertThat(meters.get("zdm.backfill.rate").tag("migration", "orphan").gauge().value()).isNaN();
			assertThat(meters.get("zdm.backfill.eta").tag("migration", "orphan").timeGauge().value(TimeUnit.SECONDS))
				.isNaN();
			assertThat(meters.get("zdm.backfill.rows.done").tag("migration", "orphan").gauge().value())
				.isEqualTo(orphaned.rowsDone());
			assertThat(described.pacing().heldBackBy()).isEqualTo(gone.description());
			// an operator's action on it is answered as the view shows it
			BackfillProgress resumed = endpoint(dualWriting).backfill("orphan", "resume");
			assertThat(resumed.state()).isEqualTo(BackfillState.PENDING);
			assertThat(resumed.throttleReason()).isEqualTo(gone.description());
			// an instance deployed at backfill takes it over from its checkpoint
			PhaseController taker = start("orphan-c", migration);
			await().atMost(Duration.ofSeconds(20))
				.until(() -> BackfillRunnerGone.of(taker.status("orphan"), this.service.progress("orphan")) == null
						|| !BackfillRunnerGone.of(taker.status("orphan"), this.service.progress("orphan")).stalled());
			awaitVerified("orphan", Duration.ofSeconds(60));
			assertThat(this.service.progress("orphan").runner()).isEqualTo("orphan-c");
			assertThat(BackfillRunnerGone.of(taker.status("orphan"), this.service.progress("orphan"))).isNull();
			traffic.stopAndAssertEveryWriteStored();
		}
		assertThat(disagreeing("orphan_users")).isZero();
	}

	/**
	 * Kill an instance's process as {@code kill -9} would: its pool gone, and the
	 * sessions the server still holds for it ended.
	 */
	private void killProcess(HikariDataSource pool, String instanceId) {
		pool.close();
		this.jdbc.queryForList("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?",
				instanceId);
	}

	// an operator's run: with zdm.instance-id set, a killed runner restarted at an
	// earlier phase was live under its id, and the backfill showed running for ever
	@Test
	void runnerKilledAndBackUnderItsIdAtAnEarlierPhaseIsShownNotRunningTheBackfill() throws Exception {
		createUsers("reborn_users", 10_000);
		MigrationDefinition migration = migration("reborn", "reborn_users", Phase.BACKFILL,
				settings(100, 100, 100, Duration.ofMillis(100)));
		try (Traffic traffic = new Traffic("reborn_users", 10_000, true)) {
			HikariDataSource poolOfRunner = postgres.newDataSource("reborn-a", 4);
			start("reborn-a", migration, poolOfRunner);
			await().atMost(Duration.ofSeconds(20)).until(() -> rowsDone("reborn") > 500);
			assertThat(this.service.progress("reborn").runner()).isEqualTo("reborn-a");
			// kill -9, and the same id back at dual-write within the fleet timeout
			killProcess(poolOfRunner, "reborn-a");
			PhaseController reborn = start("reborn-a", migration.toBuilder().requestedPhase(Phase.DUAL_WRITE).build());
			await().atMost(Duration.ofSeconds(20))
				.until(() -> reborn.status("reborn").effective() == Phase.DUAL_WRITE && reborn.status("reborn")
					.fleet()
					.stream()
					.anyMatch((member) -> member.instanceId().equals("reborn-a") && member.live()
							&& member.effectivePhase() == Phase.DUAL_WRITE)
				// the killed process under the id counts in the fleet, at backfill,
				// until it has not written for the fleet timeout
						&& reborn.status("reborn")
							.liveMembers()
							.stream()
							.noneMatch((member) -> member.instanceId()
								.contains("another process under this instance id")));
			BackfillProgress orphaned = this.service.progress("reborn");
			assertThat(orphaned.state()).as("the record as the runner left it")
				.isIn(BackfillState.RUNNING, BackfillState.THROTTLED);
			BackfillRunnerGone gone = BackfillRunnerGone.of(reborn.status("reborn"), orphaned);
			assertThat(gone).isNotNull();
			assertThat(gone.stalled()).isTrue();
			assertThat(gone.description()).startsWith("runner reborn-a runs dual-write now, which runs no backfill")
				.endsWith("no live instance runs backfill or a later phase to take it over: it resumes from its "
						+ "checkpoint once one does");
			MigrationDescriptor described = endpoint(reborn).migration("reborn");
			assertThat(described.backfill().state()).isEqualTo(BackfillState.PENDING);
			traffic.stopAndAssertEveryWriteStored();
		}
	}

	@Test
	void runnerWhoseInstanceIsGoneWhileItsSessionHoldsTheLockIsTakenOverFrom() throws Exception {
		createUsers("stalled_users", 3_000);
		// the session of a runner whose process is paused: it holds the runner's lock,
		// and the server keeps it, the kernel answering its keepalives
		try (Connection paused = postgres.database().newConnection();
				Traffic traffic = new Traffic("stalled_users", 3_000, true)) {
			int pid;
			try (Statement statement = paused.createStatement();
					ResultSet rs = statement.executeQuery("SELECT pg_backend_pid(), "
							+ "pg_advisory_lock(hashtext('zdm.backfill'), hashtext('stalled'))")) {
				rs.next();
				pid = rs.getInt(1);
			}
			traffic.awaitWrites(100);
			start("taker",
					migration("stalled", "stalled_users", Phase.BACKFILL, settings(500, 100, 2000, Duration.ZERO)));
			await().atMost(Duration.ofSeconds(20))
				.until(() -> this.jdbc.queryForObject(
						"SELECT count(*) FROM zdm_backfill WHERE migration_id = 'stalled'", Integer.class) == 1);
			assertThat(verified("stalled")).isFalse();
			// its instance left the fleet's view, and its progress stopped, an hour ago
			this.jdbc.update("UPDATE zdm_backfill SET runner = 'paused-instance', runner_pid = ?, "
					+ "updated_at = now() - interval '1 hour' WHERE migration_id = 'stalled'", pid);
			long writesBeforeTakeover = traffic.writes();
			awaitVerified("stalled", Duration.ofSeconds(30));
			assertThat(paused.isValid(2)).as("the paused runner's session was ended").isFalse();
			assertThat(traffic.writes()).as("writes during the takeover and the copy")
				.isGreaterThan(writesBeforeTakeover + 100);
			traffic.stopAndAssertEveryWriteStored();
		}
		assertThat(disagreeing("stalled_users")).isZero();
	}

	/**
	 * Writers on sessions of their own, each on its own keys, half of them among a few
	 * hot ones: updates, deletes and inserts, each acknowledged write remembered until
	 * {@link #stopAndAssertEveryWriteStored()} looks for it in the table.
	 */
	private final class Traffic implements AutoCloseable {

		private static final int WRITERS = 4;

		private final String table;

		private final int keys;

		private final boolean bothColumns;

		private final LongPredicate untouched;

		private final AtomicBoolean writing = new AtomicBoolean(true);

		private final Map<Long, String> acknowledged = new ConcurrentHashMap<>();

		private final Set<Long> everDeleted = ConcurrentHashMap.newKeySet();

		private final AtomicLong writes = new AtomicLong();

		private final AtomicReference<Throwable> failure = new AtomicReference<>();

		private final List<Thread> threads = new ArrayList<>();

		/**
		 * Start writing.
		 * @param table the table, with the columns of {@link #createUsers}
		 * @param keys the keys of the rows there before the writers start
		 * @param bothColumns whether a write sets the new column too, as an instance from
		 * dual-write on does, or the old one only, as one at expand does
		 */
		Traffic(String table, int keys, boolean bothColumns) {
			this(table, keys, bothColumns, (id) -> false);
		}

		/**
		 * Start writing, leaving some keys alone.
		 * @param table the table, with the columns of {@link #createUsers}
		 * @param keys the keys of the rows there before the writers start
		 * @param bothColumns whether a write sets the new column too
		 * @param untouched the keys no writer inserts, updates or deletes
		 */
		Traffic(String table, int keys, boolean bothColumns, LongPredicate untouched) {
			this.table = table;
			this.keys = keys;
			this.bothColumns = bothColumns;
			this.untouched = untouched;
			for (int writer = 0; writer < WRITERS; writer++) {
				int owner = writer;
				Thread thread = new Thread(() -> write(owner));
				thread.start();
				this.threads.add(thread);
			}
		}

		long writes() {
			return this.writes.get();
		}

		Set<Long> everDeleted() {
			return this.everDeleted;
		}

		void awaitWrites(long count) {
			await().atMost(Duration.ofSeconds(30)).until(() -> this.writes.get() >= count);
		}

		void stopAndAssertEveryWriteStored() throws InterruptedException {
			close();
			assertThat(this.failure.get()).as("a writer's failure").isNull();
			Map<Long, String> stored = new ConcurrentHashMap<>();
			BackfillTests.this.jdbc.query("SELECT id, email FROM " + this.table,
					(RowCallbackHandler) (rs) -> stored.put(rs.getLong(1), rs.getString(2)));
			this.acknowledged.forEach((id, email) -> {
				if (email.isEmpty()) {
					assertThat(stored).as("deleted key %s", id).doesNotContainKey(id);
				}
				else {
					assertThat(stored).as("key %s", id).containsEntry(id, email);
				}
			});
		}

		@Override
		public void close() throws InterruptedException {
			this.writing.set(false);
			for (Thread thread : this.threads) {
				thread.join();
			}
		}

		private void write(int owner) {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			long nextInsert = 1_000_000L + owner;
			String newColumn = this.bothColumns ? ", email_address = lower(?)" : "";
			try (Connection connection = postgres.database().newConnection();
					PreparedStatement update = connection
						.prepareStatement("UPDATE " + this.table + " SET email = ?" + newColumn + " WHERE id = ?");
					PreparedStatement delete = connection
						.prepareStatement("DELETE FROM " + this.table + " WHERE id = ?");
					PreparedStatement insert = connection.prepareStatement("INSERT INTO " + this.table
							+ (this.bothColumns ? " (email, email_address, id) VALUES (?, lower(?), ?)"
									: " (email, id) VALUES (?, ?)")
							+ " ON CONFLICT DO NOTHING")) {
				while (this.writing.get()) {
					int choice = random.nextInt(100);
					long id = owned(random.nextLong(1, (choice < 50) ? 41 : this.keys + 1), owner);
					while (this.untouched.test(nextInsert)) {
						nextInsert += WRITERS;
					}
					if (this.untouched.test(id)) {
						continue;
					}
					String email = "User" + id + "-" + random.nextInt(1_000_000) + "@Example.COM";
					if (choice < 80) {
						if (execute(update, email, id) == 1) {
							this.acknowledged.put(id, email);
						}
					}
					else if (choice < 88) {
						this.everDeleted.add(id);
						delete.setLong(1, id);
						delete.executeUpdate();
						this.acknowledged.put(id, "");
					}
					else {
						long insertId = (choice < 94) ? id : nextInsert;
						if (insertId == nextInsert) {
							nextInsert += WRITERS;
						}
						if (execute(insert, email, insertId) == 1) {
							this.acknowledged.put(insertId, email);
						}
					}
					this.writes.incrementAndGet();
				}
			}
			catch (Throwable ex) {
				this.failure.set(ex);
			}
		}

		/**
		 * Run an update or insert whose parameters are the e-mail (twice for both
		 * columns), then the key.
		 */
		private int execute(PreparedStatement statement, String email, long id) throws SQLException {
			int index = 1;
			statement.setString(index++, email);
			if (this.bothColumns) {
				statement.setString(index++, email);
			}
			statement.setLong(index, id);
			return statement.executeUpdate();
		}

		private static long owned(long id, int owner) {
			return id - (id % WRITERS) + owner;
		}

	}

	private Thread waitOnLock(Connection connection, long id) {
		Thread thread = new Thread(() -> {
			try (Statement statement = connection.createStatement()) {
				statement.executeUpdate("UPDATE locked_users SET email = email WHERE id = " + id);
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
		});
		thread.start();
		return thread;
	}

	private Thread updateRow(Connection connection, String table, long id) {
		Thread thread = new Thread(() -> {
			try (Statement statement = connection.createStatement()) {
				statement.executeUpdate("UPDATE " + table + " SET email = email WHERE id = " + id);
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
		});
		thread.start();
		return thread;
	}

	private void createUsers(String table, int rows) {
		this.jdbc
			.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
		this.jdbc.update("INSERT INTO " + table
				+ " (id, email) SELECT i, 'User' || i || '@Example.COM' FROM generate_series(1, ?) AS i", rows);
		this.jdbc.execute("ANALYZE " + table);
	}

	private boolean runnerHoldsLock(String id) {
		Long locks = this.jdbc.queryForObject(
				"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
						+ "AND classid = hashtext('zdm.backfill')::oid AND objid = hashtext(?)::oid AND objsubid = 2",
				Long.class, id);
		return locks != null && locks > 0;
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		return start(instance, migration, postgres.newDataSource(instance, 4));
	}

	private PhaseController start(String instance, MigrationDefinition migration, DataSource dataSource) {
		BackfillParticipant backfill = TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of(),
				this.listener);
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		this.heartbeats.put(instance, heartbeats);
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of(backfill, heartbeats));
		controller.start();
		this.controllers.add(controller);
		return controller;
	}

	private void awaitVerified(String id, Duration timeout) {
		// The mark and the verification's record are written in one transaction.
		await().atMost(timeout)
			.pollInterval(Duration.ofMillis(50))
			.until(() -> verified(id) && this.service.progress(id).verification() != null);
	}

	private boolean verified(String id) {
		return Boolean.TRUE.equals(this.jdbc.queryForObject(
				"SELECT verified_at IS NOT NULL FROM zdm_migration WHERE migration_id = ?", Boolean.class, id));
	}

	private long rowsDone(String id) {
		BackfillProgress progress = this.service.progress(id);
		return (progress != null) ? progress.rowsDone() : 0;
	}

	private long disagreeing(String table) {
		return this.jdbc.queryForObject(
				"SELECT count(*) FROM " + table + " WHERE email_address IS DISTINCT FROM lower(email)", Long.class);
	}

}
