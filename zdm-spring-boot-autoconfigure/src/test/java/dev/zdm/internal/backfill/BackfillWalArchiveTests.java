package dev.zdm.internal.backfill;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.backfill.BackfillPacer.HoldBack;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.WalInspector;
import dev.zdm.metrics.BackfillMetrics;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.EmbeddedPostgresServer;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static dev.zdm.testing.BackfillFixtures.rowsDone;
import static dev.zdm.testing.BackfillFixtures.throttlePauses;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that a copy holds back while more WAL segments than
 * {@code max-wal-archive-backlog} wait for the archiver, against a PostgreSQL server of
 * its own that archives its WAL with a command that fails ({@code false}), so that
 * finished segments pile up as {@code .ready} files until the test lets the archiver
 * succeed ({@code true}).
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
// the archiver reads a new archive_command some time after the reload: only the copy,
// second, lets it succeed, and it waits for the backlog to drain before and after
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackfillWalArchiveTests {

	private static final String ID = "archived";

	private static final int ROWS = 15_000;

	@TempDir
	static Path dataDirectory;

	private static EmbeddedPostgres server;

	private static HikariDataSource admin;

	private static JdbcTemplate jdbc;

	private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

	private final List<PhaseController> controllers = new ArrayList<>();

	private final List<HikariDataSource> pools = new ArrayList<>();

	@BeforeAll
	static void startServer() throws IOException {
		Files.createDirectories(dataDirectory);
		EmbeddedPostgresServer.prepareDataDirectory(dataDirectory);
		server = EmbeddedPostgres.builder()
			.setDataDirectory(dataDirectory)
			.setCleanDataDirectory(false)
			.setPort(freePort())
			.setServerConfig("fsync", "off")
			.setServerConfig("wal_level", "replica")
			.setServerConfig("archive_mode", "on")
			.start();
		admin = pool("admin", 2);
		jdbc = new JdbcTemplate(admin);
		// in postgresql.auto.conf, not on the command line, which would win over it
		archiveCommand("false");
	}

	@AfterAll
	static void stopServer() throws IOException {
		admin.close();
		server.close();
	}

	@AfterEach
	void stop() {
		this.controllers.forEach(PhaseController::stop);
		this.pools.forEach(HikariDataSource::close);
	}

	@Test
	@Order(2)
	void copyHoldsBackWhileSegmentsWaitForTheArchiverAndGoesOnOnceTheyAreArchived(CapturedOutput output)
			throws Exception {
		archiveCommand("true");
		await().atMost(Duration.ofSeconds(90)).until(() -> readySegments() == 0);
		archiveCommand("false");
		HikariDataSource application = newPool("application", 4);
		LiveWorkload.create(application, "archived_orders", false, ROWS);
		BackfillSettings settings = BackfillFixtures.settings(100, 100, 100, Duration.ofMillis(20))
			.toBuilder()
			.maxLatencyIncrease(Double.POSITIVE_INFINITY)
			.maxRowsPerSecond(1_000)
			.vacuumEveryRows(0)
			.maxWalArchiveBacklog(4)
			.build();
		MigrationDefinition migration = MigrationDefinition.builder(ID)
			.requestedPhase(Phase.BACKFILL)
			.table("archived_orders")
			.up("street_new", "street")
			.up("city_new", "upper(city)")
			.backfill(settings)
			.build();
		PhaseController controller = start("archived-a", migration);
		BackfillService service = new JdbcBackfillService(admin);
		LiveWorkload workload = new LiveWorkload(application, "archived_orders", false, ROWS,
				() -> controller.status(ID).effective(), 200);
		workload.start(2);
		try {
			await().atMost(Duration.ofSeconds(30)).until(() -> rowsDone(service, ID) > 1_000);
			assertThat(throttlePauses(this.meters, ID, ThrottleReason.WAL_ARCHIVE_BACKLOG)).isZero();

			pileUp(6);
			await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
				BackfillProgress progress = service.progress(ID);
				assertThat(progress.state()).isEqualTo(BackfillState.THROTTLED);
				assertThat(progress.throttleReason()).matches(
						"\\d+ WAL segments \\(\\d+ MB\\) wait to be archived, at most 4 \\(max-wal-archive-backlog\\)");
				assertThat(throttlePauses(this.meters, ID, ThrottleReason.WAL_ARCHIVE_BACKLOG))
					.isGreaterThanOrEqualTo(1);
			});
			long held = rowsDone(service, ID);
			assertThat(output).contains("backfill holds back: ").contains("wait to be archived");

			archiveCommand("true");
			await().atMost(Duration.ofSeconds(90)).until(() -> rowsDone(service, ID) > held + 500);
			assertThat(readySegments()).isLessThanOrEqualTo(4);
			await().atMost(Duration.ofSeconds(120)).until(() -> service.progress(ID).state() == BackfillState.VERIFIED);
			workload.stopAndAssertNoWriteLost();
			assertThat(LiveWorkload.disagreeing(application, "archived_orders", false)).isZero();
		}
		finally {
			workload.stop();
		}
	}

	@Test
	@Order(1)
	void roleWithoutPgMonitorDoesNotHoldBackForTheBacklogIsToldOnceAndDoesOnceGranted(CapturedOutput output) {
		pileUp(3);
		jdbc.execute("CREATE ROLE wal_observer LOGIN PASSWORD 'observer'");
		SimpleDriverDataSource observer = new SimpleDriverDataSource(new org.postgresql.Driver(),
				"jdbc:postgresql://localhost:" + server.getPort() + "/postgres", "wal_observer", "observer");
		WalInspector inspector = new WalInspector(observer);
		assertThat(inspector.archiveBacklog().readable()).isFalse();
		assertThat(pacer(observer, inspector).holdBack()).as("the signal is off").isNull();
		assertThat(output.getOut().split("GRANT pg_monitor TO wal_observer", -1)).hasSize(2);
		assertThat(output).contains("role 'wal_observer' cannot list the WAL segments waiting to be archived");

		jdbc.execute("GRANT pg_monitor TO wal_observer");
		WalInspector granted = new WalInspector(observer);
		assertThat(granted.archiveBacklog().readable()).isTrue();
		assertThat(granted.archiveBacklog().readySegments()).isGreaterThanOrEqualTo(3);
		HoldBack holdBack = pacer(observer, granted).holdBack();
		assertThat(holdBack).isNotNull();
		assertThat(holdBack.reason()).isEqualTo(ThrottleReason.WAL_ARCHIVE_BACKLOG);
		assertThat(holdBack.description()).endsWith("wait to be archived, at most 1 (max-wal-archive-backlog)");
		assertThat(pacer(observer, granted, 0).holdBack()).as("0 turns the check off").isNull();
	}

	private static BackfillPacer pacer(SimpleDriverDataSource dataSource, WalInspector inspector) {
		return pacer(dataSource, inspector, 1);
	}

	private static BackfillPacer pacer(SimpleDriverDataSource dataSource, WalInspector inspector, long maxBacklog) {
		// no lock or transaction checks, which would read another role's sessions
		BackfillSettings settings = BackfillSettings.builder()
			.maxLockWaiters(Integer.MAX_VALUE)
			.maxTransactionAge(Duration.ZERO)
			.maxWalArchiveBacklog(maxBacklog)
			.build();
		return new BackfillPacer(BackfillFixtures.migration("observed", "observed_users", Phase.BACKFILL, settings),
				settings, new LockInspector(dataSource), null, inspector, List.of());
	}

	/**
	 * Finish {@code count} WAL segments, each after a write so that each switch finishes
	 * one, and wait until they wait for the archiver.
	 */
	private static void pileUp(int count) {
		long before = readySegments();
		jdbc.execute("CREATE TABLE IF NOT EXISTS wal_switches (n int)");
		for (int i = 0; i < count; i++) {
			jdbc.update("INSERT INTO wal_switches VALUES (?)", i);
			jdbc.queryForObject("SELECT pg_switch_wal()::text", String.class);
		}
		await().atMost(Duration.ofSeconds(10)).until(() -> readySegments() >= before + count);
	}

	private static long readySegments() {
		return jdbc.queryForObject("SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'",
				Long.class);
	}

	private static void archiveCommand(String command) {
		jdbc.execute("ALTER SYSTEM SET archive_command = '" + command + "'");
		jdbc.queryForObject("SELECT pg_reload_conf()", Boolean.class);
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		HikariDataSource dataSource = newPool(instance, 6);
		BackfillParticipant backfill = TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of(),
				BackfillListener.of(List.of(new BackfillMetrics(this.meters))));
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of(backfill));
		controller.start();
		this.controllers.add(controller);
		return controller;
	}

	private HikariDataSource newPool(String name, int size) {
		HikariDataSource pool = pool(name, size);
		this.pools.add(pool);
		return pool;
	}

	private static HikariDataSource pool(String name, int size) {
		HikariConfig config = new HikariConfig();
		config.setPoolName(name);
		config.setJdbcUrl(server.getJdbcUrl("postgres", "postgres"));
		config.setUsername("postgres");
		config.setPassword("postgres");
		config.setMaximumPoolSize(size);
		config.setMinimumIdle(0);
		return new HikariDataSource(config);
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
