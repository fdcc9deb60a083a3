package dev.zdm.internal.backfill;

import dev.zdm.metrics.MicrometerApplicationLatency;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
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
 * Tests for {@link TailSampler}: its probes, at any moment, see what other sessions'
 * calls feel, and a slow tail counts only while the application's sessions are busy, not
 * zdm's own.
 */
@Isolated("its probes time reads: other test classes running beside it would slow them by turns")
class TailSamplerTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final AtomicBoolean running = new AtomicBoolean(true);

	@AfterEach
	void stop() {
		this.running.set(false);
	}

	@Test
	void probesSlowedByAnotherSessionCountAsTheWorkloadsTailOnlyWhileAWorkloadRuns() throws Exception {
		this.jdbc.execute("CREATE TABLE tail (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc.execute("INSERT INTO tail SELECT g, 'a' || g, NULL FROM generate_series(1, 10000) g");
		this.jdbc.execute("CREATE TABLE tail_work (id int PRIMARY KEY, n bigint)");
		this.jdbc.execute("INSERT INTO tail_work VALUES (1, 0)");
		MigrationDefinition migration = keyedMigration("tail", "tail");
		BackfillBatches batches = batchesOf(migration);
		TailSampler sampler = new TailSampler(postgres.dataSource(), migration, batches);
		AtomicBoolean workload = new AtomicBoolean(true);
		AtomicBoolean blocking = new AtomicBoolean(false);
		// another application's calls: transactions of a few statements, about 100 a
		// second
		Thread writer = thread(() -> {
			try (Connection connection = postgres.database().newConnection();
					Statement statement = connection.createStatement()) {
				connection.setAutoCommit(false);
				while (this.running.get()) {
					if (workload.get()) {
						statement.execute("UPDATE tail_work SET n = n + 1 WHERE id = 1");
						statement.execute("SELECT count(*) FROM tail WHERE id < 500");
						connection.commit();
					}
					Thread.sleep(10);
				}
			}
		});
		// what slows the workload, standing in for the copy (whose sessions the sampler
		// does not count as a workload): a session that takes the table's lock for 40 ms
		// out of every 80, so that about half of the reads at any moment wait
		Connection lockSession = postgres.database().newConnection();
		Integer lockPid = new JdbcTemplate(new SingleConnectionDataSource(lockSession, true))
			.queryForObject("SELECT pg_backend_pid()", Integer.class);
		Thread locker = thread(() -> {
			try (Connection connection = lockSession; Statement statement = connection.createStatement()) {
				while (this.running.get()) {
					if (blocking.get()) {
						connection.setAutoCommit(false);
						statement.execute("LOCK TABLE tail IN ACCESS EXCLUSIVE MODE");
						statement.execute("SELECT pg_sleep(0.04)");
						connection.commit();
						connection.setAutoCommit(true);
					}
					Thread.sleep(40);
				}
			}
		});
		sampler.start("10000", lockPid);
		try {
			sampler.baselineWindow(true);
			await().atMost(Duration.ofSeconds(30)).until(() -> sampler.baselineProbes() >= 60);
			sampler.baselineWindow(false);
			sampler.tail(1.2); // forget the probes taken before the workload was counted
			// nothing slows the reads: the tail does not read over, but by chance, which
			// a reading allows for two standard deviations (a few percent of readings,
			// more on a busy machine): of five readings, at most one
			List<Tail> calm = new ArrayList<>();
			await().atMost(Duration.ofSeconds(30)).until(() -> {
				Tail tail = sampler.tail(1.2);
				if (tail != null && tail.busyShare() >= TailSampler.MIN_BUSY_SHARE) {
					calm.add(tail);
				}
				return calm.size() >= 5;
			});
			assertThat(calm.stream().filter(Tail::over)).as("tails without impact: %s", calm)
				.hasSizeLessThanOrEqualTo(1);
			blocking.set(true);
			AtomicReference<Tail> slow = new AtomicReference<>();
			await().atMost(Duration.ofSeconds(30)).until(() -> {
				Tail tail = sampler.tail(1.2);
				slow.set(tail);
				return tail != null && tail.over();
			});
			assertThat(slow.get().share()).isGreaterThan(0.1);
			// the same slow reads with no one else committing: only the probe feels them
			workload.set(false);
			long stopped = System.nanoTime();
			long checksAtStop = sampler.checks();
			AtomicReference<Tail> alone = new AtomicReference<>();
			await().atMost(Duration.ofSeconds(90)).until(() -> {
				Tail tail = sampler.tail(1.2);
				alone.set(tail);
				return tail != null && tail.busyShare() < TailSampler.MIN_BUSY_SHARE;
			});
			// a workload that was there counts as gone only once the last 500 checks
			// (about 10 s) hold too few busy ones, not the last 150 that tell a workload
			// has appeared (about 3 s): a lull of a few seconds in a steady workload does
			// not send the copy to full pace. Counted in checks, whose pace follows the
			// reads' (one every other read): from 6 s to 18 s on these machines; over
			// 150 quiet checks, which the window of 150 would never need
			long quietChecks = sampler.checks() - checksAtStop;
			Duration gone = Duration.ofNanos(System.nanoTime() - stopped);
			System.out.println("tail sampler: the workload counted as gone after " + quietChecks + " checks, " + gone);
			assertThat(quietChecks).isGreaterThan(150);
			assertThat(alone.get().share()).isGreaterThan(0.1);
			assertThat(alone.get().over()).isFalse();
		}
		finally {
			sampler.stop();
			this.running.set(false);
			writer.join();
			locker.join();
		}
	}

	@Test
	void aCopyRunningAFewPercentOfTheTimeShowsInTheSlowTailAgainstTheProbesTakenWhileItPauses() throws Exception {
		this.jdbc.execute("CREATE TABLE slow_tail (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc.execute("INSERT INTO slow_tail SELECT g, 'a' || g, NULL FROM generate_series(1, 10000) g");
		this.jdbc.execute("CREATE TABLE slow_tail_work (id int PRIMARY KEY, n bigint)");
		this.jdbc.execute("INSERT INTO slow_tail_work VALUES (1, 0)");
		MigrationDefinition migration = keyedMigration("slow-tail", "slow_tail");
		BackfillBatches batches = batchesOf(migration);
		TailSampler sampler = new TailSampler(postgres.dataSource(), migration, batches);
		AtomicBoolean copying = new AtomicBoolean(false);
		// an application's transactions, about 80 a second, each of a few milliseconds
		Thread writer = thread(() -> {
			try (Connection connection = postgres.database().newConnection();
					Statement statement = connection.createStatement()) {
				connection.setAutoCommit(false);
				while (this.running.get()) {
					statement.execute("UPDATE slow_tail_work SET n = n + 1 WHERE id = 1");
					statement.execute("SELECT pg_sleep(0.002)");
					connection.commit();
					Thread.sleep(10);
				}
			}
		});
		// the copy, standing in: "batches" that hold the table's lock for 80 ms every
		// 500 ms or so, so that about one read in fifteen waits (the probes run one
		// after another: one waits for each batch): a share the tail's readings of a few
		// dozen probes hardly tell from their 5% by chance, and the p99 a workload feels
		Connection copySession = postgres.database().newConnection();
		Integer copyPid = new JdbcTemplate(new SingleConnectionDataSource(copySession, true))
			.queryForObject("SELECT pg_backend_pid()", Integer.class);
		Thread copy = thread(() -> {
			try (Connection connection = copySession; Statement statement = connection.createStatement()) {
				while (this.running.get()) {
					if (copying.get()) {
						sampler.batch(true);
						try {
							connection.setAutoCommit(false);
							statement.execute("LOCK TABLE slow_tail IN ACCESS EXCLUSIVE MODE");
							statement.execute("SELECT pg_sleep(0.08)");
							connection.commit();
							connection.setAutoCommit(true);
						}
						finally {
							sampler.batch(false);
						}
					}
					Thread.sleep(420);
				}
			}
		});
		sampler.start("10000", copyPid);
		try {
			// no copy yet: the slow tail reads calm (or over only by chance: of two
			// readings, at most one)
			List<SlowTail> before = slowTails(sampler, 2);
			assertThat(before).as("slow tails without a copy: %s", before)
				.allSatisfy((tail) -> assertThat(tail.busyShare()).isGreaterThanOrEqualTo(TailSampler.MIN_BUSY_SHARE));
			assertThat(before.stream().filter(SlowTail::over)).hasSizeLessThanOrEqualTo(1);
			copying.set(true);
			AtomicReference<SlowTail> slow = new AtomicReference<>();
			await().atMost(Duration.ofSeconds(60)).until(() -> {
				SlowTail tail = sampler.slowTail(1.2);
				if (tail != null) {
					slow.set(tail);
				}
				return tail != null && tail.over();
			});
			assertThat(slow.get().share()).isGreaterThan(0.02).isLessThan(0.25);
			// the yardstick is the probes taken while the copy paused: the reads that
			// waited up to 80 ms for a "batch" are not among them (with them, one read in
			// fifteen waiting, its slowest 1% would be over 60 ms; without them it was 24
			// ms once on a machine loaded by other builds, 15 ms or less otherwise)
			assertThat(slow.get().threshold()).isLessThan(Duration.ofMillis(40).toNanos());
		}
		finally {
			sampler.stop();
			this.running.set(false);
			writer.join();
			copy.join();
		}
	}

	@Test
	void probingGoesOnAfterAProbeFailsBehindAnotherSessionsLock() throws Exception {
		this.jdbc.execute("CREATE TABLE probe_fails (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc.execute("INSERT INTO probe_fails SELECT g, 'a' || g, NULL FROM generate_series(1, 1000) g");
		MigrationDefinition migration = keyedMigration("probe-fails", "probe_fails");
		BackfillBatches batches = batchesOf(migration);
		// an application pool whose statements time out, as many are configured
		HikariConfig config = postgres.database().newPoolConfig("impatient", 2);
		config.setConnectionInitSql("SET statement_timeout = '200ms'");
		try (HikariDataSource impatient = new HikariDataSource(config)) {
			TailSampler sampler = new TailSampler(impatient, migration, batches);
			sampler.baselineWindow(true);
			sampler.start("1000");
			try {
				await().atMost(Duration.ofSeconds(30)).until(() -> sampler.baselineProbes() >= 20);
				int before;
				try (Connection holder = postgres.database().newConnection();
						Statement statement = holder.createStatement()) {
					holder.setAutoCommit(false);
					statement.execute("LOCK TABLE probe_fails IN ACCESS EXCLUSIVE MODE");
					before = sampler.baselineProbes();
					// a probe waits behind the lock, then its statement times out
					await().atMost(Duration.ofSeconds(10)).until(() -> waitingOn("probe_fails") > 0);
					await().atMost(Duration.ofSeconds(10)).until(() -> waitingOn("probe_fails") == 0);
					holder.commit();
				}
				// the probing goes on once the lock is gone
				await().atMost(Duration.ofSeconds(10)).until(() -> sampler.baselineProbes() >= before + 20);
			}
			finally {
				sampler.stop();
			}
		}
	}

	@Test
	@ExtendWith(OutputCaptureExtension.class)
	void probesFailingForLongAreWarnedOfOnceWithWhatToDo(CapturedOutput output) throws Exception {
		this.jdbc.execute("CREATE TABLE probe_starved (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc.execute("INSERT INTO probe_starved SELECT g, 'a' || g, NULL FROM generate_series(1, 1000) g");
		MigrationDefinition migration = keyedMigration("probe-starved", "probe_starved");
		HikariConfig config = postgres.database().newPoolConfig("starved", 2);
		config.setConnectionInitSql("SET statement_timeout = '200ms'");
		try (HikariDataSource impatient = new HikariDataSource(config)) {
			TailSampler sampler = new TailSampler(impatient, migration, batchesOf(migration));
			sampler.warnAfter(Duration.ofMillis(1500));
			sampler.start("1000");
			try {
				try (Connection holder = postgres.database().newConnection();
						Statement statement = holder.createStatement()) {
					holder.setAutoCommit(false);
					statement.execute("LOCK TABLE probe_starved IN ACCESS EXCLUSIVE MODE");
					// every probe times out behind the lock: told once at INFO, then
					// warned of once with what the pacing misses and what to do (a user's
					// probes waited on a full PgBouncer with an INFO line only)
					await().atMost(Duration.ofSeconds(20)).until(() -> output.getOut().contains("have failed for"));
					holder.commit();
				}
				await().atMost(Duration.ofSeconds(10))
					.until(() -> output.getOut().contains("probing probe_starved again"));
			}
			finally {
				sampler.stop();
			}
		}
		assertThat(output.getOut()).contains("WARN")
			.contains("migration 'probe-starved': the probes of probe_starved have failed for 2 s")
			.contains("until they work again the pacing reads neither a workload beside the copy nor its slow tail")
			.contains("PgBouncer's default_pool_size");
		assertThat(output.getOut().split("have failed for", -1)).hasSize(2);
		assertThat(output.getOut().split("failed, trying again every", -1)).hasSize(2);
	}

	@Test
	void theProbesAreNotCountedAmongTheApplicationsOwnCalls() {
		this.jdbc.execute("CREATE TABLE probe_own (id bigint PRIMARY KEY, email text, email_address text)");
		this.jdbc.execute("INSERT INTO probe_own SELECT g, 'a' || g, NULL FROM generate_series(1, 1000) g");
		MigrationDefinition migration = keyedMigration("probe-own", "probe_own");
		// the application's pool, whose calls the pacing reads through its meters
		SimpleMeterRegistry meters = new SimpleMeterRegistry();
		HikariConfig config = postgres.database().newPoolConfig("metered", 3);
		config.setMetricRegistry(meters);
		try (HikariDataSource application = new HikariDataSource(config)) {
			MicrometerApplicationLatency latency = new MicrometerApplicationLatency(meters, new OwnPoolCalls());
			long before = latency.totals().calls();
			TailSampler sampler = new TailSampler(application, migration, batchesOf(migration));
			sampler.baselineWindow(true);
			sampler.start("1000");
			try {
				await().atMost(Duration.ofSeconds(30)).until(() -> sampler.baselineProbes() >= 100);
				assertThat(latency.totals().calls() - before)
					.as("application calls counted while the sampler read %d times", sampler.baselineProbes())
					.isZero();
				assertThat(sampler.ownPool()).isTrue();
			}
			finally {
				sampler.stop();
			}
			// the application's own calls count as before
			new JdbcTemplate(application).queryForObject("SELECT 1", Integer.class);
			assertThat(latency.totals().calls() - before).isOne();
		}
	}

	private int waitingOn(String table) {
		Integer waiting = this.jdbc.queryForObject(
				"SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = CAST(? AS regclass)", Integer.class,
				table);
		return (waiting != null) ? waiting : 0;
	}

	private static MigrationDefinition keyedMigration(String id, String table) {
		return BackfillFixtures.migration(id, table, Phase.BACKFILL, BackfillSettings.defaults())
			.toBuilder()
			.key("id")
			.build();
	}

	private static BackfillBatches batchesOf(MigrationDefinition migration) {
		return new BackfillBatches(migration, BackfillStatements.of(migration), "tail", true);
	}

	private static List<SlowTail> slowTails(TailSampler sampler, int count) {
		List<SlowTail> tails = new ArrayList<>();
		// a reading comes once it tells (seconds for a calm tail) or after a minute
		await().atMost(Duration.ofSeconds(150)).until(() -> {
			SlowTail tail = sampler.slowTail(1.2);
			if (tail != null) {
				tails.add(tail);
			}
			return tails.size() >= count;
		});
		return tails;
	}

	@Test
	void zdmsOwnStatementsBesideACopyAreNoWorkloadWhileTheApplicationsAre() throws Exception {
		this.jdbc.execute("CREATE TABLE own (id bigint PRIMARY KEY, email text NOT NULL, email_address text)");
		this.jdbc.execute("INSERT INTO own (id, email) SELECT g, 'User' || g FROM generate_series(1, 200000) g");
		this.jdbc.execute("ANALYZE own");
		// a zdm instance copying the table slowly, with everything it does meanwhile at
		// the fleet timing of the tests: heartbeats every 100 ms, the overrides' and the
		// fleet's reads, checkpoints, load checks, its own tail sampler's checks and
		// reads
		BackfillSettings settings = BackfillSettings.builder()
			.maxRowsPerSecond(2_000)
			.throttleCheckInterval(Duration.ofMillis(100))
			.vacuumEveryRows(0)
			.build();
		MigrationDefinition migration = BackfillFixtures.migration("own", "own", Phase.BACKFILL, settings);
		DataSource instance = postgres.newDataSource("own", 4);
		PhaseController controller = TestEngine.phaseController(instance, List.of(migration),
				InstanceInfo.ofThisProcess("own", "test", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(instance, TestFleet.TIMEOUT, List.of())));
		BackfillService service = new JdbcBackfillService(postgres.dataSource());
		List<Thread> threads = new ArrayList<>();
		controller.start();
		try {
			await().atMost(Duration.ofSeconds(60)).until(() -> {
				BackfillProgress progress = service.progress("own");
				return progress != null && progress.state() == BackfillState.RUNNING && progress.rowsDone() > 0;
			});
			Integer runnerPid = this.jdbc
				.queryForObject("SELECT runner_pid FROM zdm_backfill WHERE migration_id = 'own'", Integer.class);
			// what an operator's dashboard reads meanwhile, through zdm
			threads.add(thread(() -> {
				while (this.running.get()) {
					service.progress("own");
					Thread.sleep(20);
				}
			}));
			MigrationDefinition keyed = migration.toBuilder().key("id").build();
			TailSampler sampler = new TailSampler(postgres.dataSource(), keyed, batchesOf(keyed));
			sampler.start("200000", runnerPid);
			try {
				sampler.baselineWindow(true);
				await().atMost(Duration.ofSeconds(30)).until(() -> sampler.baselineProbes() >= 30);
				sampler.baselineWindow(false);
				// readings over more than one window of checks, all while the copy runs
				List<Tail> idle = readings(sampler, 6);
				assertThat(service.progress("own").state()).isEqualTo(BackfillState.RUNNING);
				assertThat(idle).as("readings beside zdm's own statements only")
					.allSatisfy((tail) -> assertThat(tail.busyShare()).isLessThan(TailSampler.MIN_BUSY_SHARE));
				// an application's point reads and updates, about 100 transactions a
				// second
				this.jdbc.execute("CREATE TABLE own_work (id int PRIMARY KEY, n bigint)");
				this.jdbc.execute("INSERT INTO own_work VALUES (1, 0)");
				threads.add(thread(() -> {
					try (Connection connection = postgres.database().newConnection();
							Statement statement = connection.createStatement()) {
						connection.setAutoCommit(false);
						while (this.running.get()) {
							statement.execute("UPDATE own_work SET n = n + 1 WHERE id = 1");
							statement.execute("SELECT email FROM own WHERE id = "
									+ ThreadLocalRandom.current().nextInt(1, 200_001));
							connection.commit();
							Thread.sleep(10);
						}
					}
				}));
				AtomicReference<Tail> busy = new AtomicReference<>();
				await().atMost(Duration.ofSeconds(30)).until(() -> {
					Tail tail = sampler.tail(1.2);
					busy.set(tail);
					return tail != null && tail.busyShare() >= TailSampler.MIN_BUSY_SHARE;
				});
				assertThat(service.progress("own").state()).isEqualTo(BackfillState.RUNNING);
			}
			finally {
				sampler.stop();
			}
		}
		finally {
			this.running.set(false);
			controller.stop();
			for (Thread thread : threads) {
				thread.join();
			}
		}
	}

	private static List<Tail> readings(TailSampler sampler, int count) {
		List<Tail> readings = new CopyOnWriteArrayList<>();
		await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
			Tail tail = sampler.tail(1.2);
			if (tail != null) {
				readings.add(tail);
			}
			return readings.size() >= count;
		});
		return readings;
	}

	private Thread thread(Work work) {
		Thread thread = new Thread(() -> {
			try {
				work.run();
			}
			catch (Exception ex) {
				if (this.running.get()) {
					throw new IllegalStateException(ex);
				}
			}
		});
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

	interface Work {

		void run() throws Exception;

	}

}
