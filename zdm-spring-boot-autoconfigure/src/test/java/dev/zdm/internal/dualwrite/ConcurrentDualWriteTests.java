package dev.zdm.internal.dualwrite;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;

import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.JdbcClientUsers;
import dev.zdm.testing.JdbcClientUsers.BothColumnsUserStore;
import dev.zdm.testing.JdbcClientUsers.ColumnUserStore;
import dev.zdm.testing.JdbcClientUsers.User;
import dev.zdm.testing.JdbcClientUsers.UserStore;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two instances at adjacent phases, one writing the old side and one the new (or, synced
 * by the application, both writing both sides), on the same rows at the same time, in
 * real concurrent sessions (each instance on a pool of its own), with a writer from
 * outside the application too where a trigger syncs it.
 */
class ConcurrentDualWriteTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 20;

	private static final int WRITES = 300;

	private static JdbcTemplate jdbc;

	private final List<PhaseController> controllers = new ArrayList<>();

	@BeforeAll
	static void createTables() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, email_address text)");
		jdbc.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, name text, email text)");
		jdbc.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text)");
		jdbc.execute("CREATE TABLE members (id bigint PRIMARY KEY, name text, email text, email_address text)");
		new SameTableSyncTrigger(postgres.dataSource())
			.expandStatements(JdbcClientUsers.USERS_EMAIL.toBuilder().table("public.users").build())
			.forEach(jdbc::execute);
	}

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void sameTableWritersAtBackfillAndReadNewAndFromOutsideLeaveOldAndNewEqual() throws Exception {
		MigrationDefinition migration = JdbcClientUsers.USERS_EMAIL;
		DataSource poolA = postgres.newDataSource("a", 4);
		DataSource poolB = postgres.newDataSource("b", 4);
		PhaseController a = start(migration, Phase.BACKFILL, "a", poolA);
		new MigrationStateRepository(poolA).markVerified(migration.id(), "test");
		PhaseController b = start(migration, Phase.READ_NEW, "b", poolB);
		assertThat(a.effectivePhase(migration.id())).isEqualTo(Phase.BACKFILL);
		assertThat(b.effectivePhase(migration.id())).isEqualTo(Phase.READ_NEW);
		for (int id = 1; id <= ROWS; id++) {
			jdbc.update("INSERT INTO users (id, name, email) VALUES (?, 'user', ?)", id, "initial" + id + "@x");
		}
		UserStore writesOld = JdbcClientUsers.users(a, poolA);
		UserStore writesNew = JdbcClientUsers.users(b, poolB);
		JdbcTemplate outside = new JdbcTemplate(postgres.newDataSource("outside", 2));
		List<Throwable> failures = runConcurrently((i) -> write(writesOld, "a", i), (i) -> write(writesNew, "b", i),
				(i) -> outside.update(
						"UPDATE users SET " + ((i % 2 == 0) ? "email" : "email_address") + " = ? WHERE id = ?",
						"outside" + i + "@x", randomRow()));
		assertThat(failures).isEmpty();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM users", Integer.class)).isEqualTo(ROWS + 2 * WRITES / 10);
		assertThat(jdbc.queryForList("SELECT id, email, email_address FROM users "
				+ "WHERE email IS DISTINCT FROM email_address OR email_address IS NULL"))
			.isEmpty();
	}

	@Test
	void crossTableWritersAtBackfillAndReadNewLeaveBothTablesEqualWithoutDeadlocks() throws Exception {
		MigrationDefinition migration = JdbcClientUsers.ACCOUNTS_CUSTOMERS;
		DataSource poolA = postgres.newDataSource("a2", 4);
		DataSource poolB = postgres.newDataSource("b2", 4);
		PhaseController a = start(migration, Phase.BACKFILL, "a2", poolA);
		PhaseController b = start(migration, Phase.READ_NEW, "b2", poolB);
		for (int id = 1; id <= ROWS; id++) {
			jdbc.update("INSERT INTO accounts (id, name, email) VALUES (?, 'user', ?)", id, "initial" + id + "@x");
			jdbc.update("INSERT INTO customers (id, name, email) VALUES (?, 'user', ?)", id, "initial" + id + "@x");
		}
		UserStore writesOldFirst = JdbcClientUsers.accounts(a, poolA);
		UserStore writesNewFirst = JdbcClientUsers.accounts(b, poolB);
		List<Throwable> failures = runConcurrently((i) -> write(writesOldFirst, "a", i),
				(i) -> write(writesNewFirst, "b", i));
		assertThat(failures).isEmpty();
		List<Map<String, Object>> accounts = jdbc.queryForList("SELECT * FROM accounts ORDER BY id");
		assertThat(accounts).hasSize(ROWS + 2 * WRITES / 10);
		assertThat(jdbc.queryForList("SELECT * FROM customers ORDER BY id")).isEqualTo(accounts);
	}

	@Test
	void applicationSyncedWritersAtBackfillAndReadNewLeaveOldAndNewAgreeingWithoutATrigger() throws Exception {
		MigrationDefinition migration = MigrationDefinition.builder("members-email")
			.table("members")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.sync(SyncMode.APPLICATION)
			.build();
		DataSource poolA = postgres.newDataSource("a3", 4);
		DataSource poolB = postgres.newDataSource("b3", 4);
		new ZdmSchema(poolA, ZdmTables.DEFAULT).migrate();
		new MigrationStateRepository(poolA).register(migration.id());
		new MigrationStateRepository(poolA).markVerified(migration.id(), "test");
		// as the fleet leaves it once an instance has run read-new (the verification that
		// the first instance to ask for it has run again is the backfill's, not here);
		// the instance at read-new starts first: an instance's heartbeat with none at
		// read-new would clear the record, as after a walk back
		new MigrationStateRepository(poolA).markReadNew(migration.id());
		PhaseController b = start(migration, Phase.READ_NEW, "b3", poolB);
		PhaseController a = start(migration, Phase.BACKFILL, "a3", poolA);
		assertThat(a.effectivePhase(migration.id())).isEqualTo(Phase.BACKFILL);
		assertThat(b.effectivePhase(migration.id())).isEqualTo(Phase.READ_NEW);
		for (int id = 1; id <= ROWS; id++) {
			jdbc.update("INSERT INTO members (id, name, email, email_address) VALUES (?, 'user', ?, ?)", id,
					"Initial" + id + "@x", "initial" + id + "@x");
		}
		UserStore atBackfill = members(a, poolA);
		UserStore atReadNew = members(b, poolB);
		List<Throwable> failures = runConcurrently((i) -> write(atBackfill, "a", i), (i) -> write(atReadNew, "b", i));
		assertThat(failures).isEmpty();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM members", Integer.class))
			.isEqualTo(ROWS + 2 * WRITES / 10);
		assertThat(jdbc.queryForList(
				"SELECT id, email, email_address FROM members " + "WHERE email_address IS DISTINCT FROM lower(email)"))
			.isEmpty();
		assertThat(jdbc.queryForObject(
				"SELECT count(*) FROM pg_trigger WHERE tgrelid = 'members'::regclass AND NOT tgisinternal",
				Integer.class))
			.isZero();
	}

	private static UserStore members(PhaseController controller, DataSource pool) {
		return DualWriteRepositoryFactory.create(UserStore.class, "members-email",
				new Implementations<>(new ColumnUserStore(pool, "members", "email"),
						new ColumnUserStore(pool, "members", "email_address"),
						new BothColumnsUserStore(pool, "members")),
				controller, new DataSourceTransactionManager(pool), new MigrationStateRepository(pool),
				DualWriteListener.NONE);
	}

	private static void write(UserStore users, String writer, int i) {
		if (i % 10 == 0) {
			long id = ("a".equals(writer) ? 1000 : 2000) + i;
			users.insert(new User(id, writer, writer + i + "@x"));
		}
		else {
			users.updateEmail(randomRow(), writer + i + "@x");
		}
	}

	private static long randomRow() {
		return ThreadLocalRandom.current().nextLong(1, ROWS + 1);
	}

	private static List<Throwable> runConcurrently(IntConsumer... writers) throws InterruptedException {
		List<Throwable> failures = new CopyOnWriteArrayList<>();
		CountDownLatch start = new CountDownLatch(1);
		ExecutorService executor = Executors.newFixedThreadPool(writers.length);
		for (IntConsumer writer : writers) {
			executor.execute(() -> {
				try {
					start.await();
					for (int i = 0; i < WRITES; i++) {
						writer.accept(i);
					}
				}
				catch (Throwable ex) {
					failures.add(ex);
				}
			});
		}
		start.countDown();
		executor.shutdown();
		assertThat(executor.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
		return failures;
	}

	private PhaseController start(MigrationDefinition migration, Phase phase, String instance, DataSource dataSource) {
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration.toBuilder().requestedPhase(phase).build()),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of());
		controller.start();
		this.controllers.add(controller);
		return controller;
	}

}
