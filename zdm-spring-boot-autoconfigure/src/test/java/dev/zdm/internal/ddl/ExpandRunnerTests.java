package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link ExpandRunner} and {@link LockSafeExecutor} on a real PostgreSQL.
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class ExpandRunnerTests {

	private static final Duration LOCK_TIMEOUT = Duration.ofMillis(100);

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	private final DdlSettings settings = DdlSettings.defaults()
		.withLockTimeout(LOCK_TIMEOUT)
		.withMaxAttempts(200)
		.withBackoff(Duration.ofMillis(50), Duration.ofMillis(300));

	private final InstanceInfo instance = new InstanceInfo("runner-tests", null, "localhost", 1);

	/** These tests call {@code beforeJoin} and wait for it: the expand at start-up. */
	private static final ExpandSettings AT_STARTUP = new ExpandSettings(true, Duration.ofMinutes(10),
			java.util.Set.of());

	@BeforeAll
	static void createZdmTables() {
		new ZdmSchema(postgres.dataSource()).migrate();
	}

	@Test
	void expandRetriesWhileAnotherSessionHoldsALockAndReportsTheBlocker(CapturedOutput output) throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, email text)");
		jdbc.execute("INSERT INTO accounts SELECT i, 'user' || i || '@example.com' FROM generate_series(1, 1000) i");
		String location = DdlTestScripts.write(this.scripts, "V1__add_email_address.sql",
				"ALTER TABLE accounts ADD COLUMN email_address text;");
		MigrationDefinition migration = migration("accounts-email", "public.accounts", location, null);
		DdlRunners runner = runner(postgres.newDataSource("zdm-ddl", 6));
		runner.validator().validate(migration, MigrationState.initial(migration.id()));
		try (Connection blocker = postgres.database().newConnection();
				HikariDataSource readers = waitingForALockAtMost("readers", 4, LOCK_TIMEOUT.plusMillis(400))) {
			blocker.setClientInfo("ApplicationName", "report-me");
			int blockerPid = pid(blocker);
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM accounts");
			}
			ReadWorkload reads = new ReadWorkload(readers, 3);
			CompletableFuture<Void> expand = CompletableFuture
				.runAsync(() -> runner.expand().beforeJoin(migration, MigrationState.initial(migration.id())));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> runner.history().status(migration.id(), 5).totalLockTimeouts() >= 5);
			assertThat(expand).isNotDone();
			assertThat(columns("accounts")).doesNotContain("email_address");
			blocker.commit();
			expand.get(30, TimeUnit.SECONDS);
			long longestRead = reads.stop();
			assertThat(columns("accounts")).contains("email_address");
			assertThat(reads.completed()).isGreaterThan(0);
			// no read queued behind the ALTER for longer than its lock timeout and a
			// margin: such a read fails on its session's lock_timeout
			assertThat(reads.failure()).as("a read that waited too long for a lock").isNull();
			System.out.println("Longest read " + longestRead + " ms (wall clock, lock waits bounded by the server)");
			DdlStatus status = runner.history().status(migration.id(), 5);
			assertThat(status.lastStatement().state()).isEqualTo("applied");
			assertThat(status.lastStatement().attempts()).isGreaterThan(status.lastStatement().lockTimeouts());
			assertThat(status.step(DdlStep.EXPAND).isDone()).isTrue();
			BlockingSession reported = status.lastLockTimeout().blockers().get(0);
			assertThat(reported.pid()).isEqualTo(blockerPid);
			assertThat(reported.state()).isEqualTo("idle in transaction");
			assertThat(reported.applicationName()).isEqualTo("report-me");
			assertThat(reported.query()).contains("SELECT count(*) FROM accounts");
			assertThat(reported.transactionAge()).isPositive();
			assertThat(output).contains("timed out waiting for a lock")
				.contains("blocked by pid " + blockerPid + " (idle in transaction");
		}
	}

	@Test
	void failedConcurrentUniqueIndexLeavesNoInvalidIndexAndRunsOnceTheDataIsFixed() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE members (id bigint PRIMARY KEY, email text)");
		jdbc.execute(
				"INSERT INTO members SELECT i, 'user' || (i % 50) || '@example.com' FROM generate_series(1, 200) i");
		String location = DdlTestScripts.write(this.scripts, "V1__unique_email.sql",
				"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS members_email_key ON members (email);");
		MigrationDefinition migration = migration("members-email", "public.members", location, null);
		DdlRunners runner = runner(postgres.newDataSource("zdm-cic", 6));
		runner.validator().validate(migration, MigrationState.initial(migration.id()));
		assertThatExceptionOfType(DdlExecutionException.class)
			.isThrownBy(() -> runner.expand().beforeJoin(migration, MigrationState.initial(migration.id())))
			.withMessageContaining("members_email_key")
			.withMessageContaining("could not create unique index");
		assertThat(indexes("members")).containsExactly("members_pkey");
		assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_index WHERE NOT indisvalid", Integer.class)).isZero();
		DdlStatus status = runner.history().status(migration.id(), 5);
		assertThat(status.lastStatement().state()).isEqualTo("failed");
		assertThat(status.step(DdlStep.EXPAND).state()).isEqualTo("failed");
		jdbc.execute("UPDATE members SET email = 'user' || id || '@example.com'");
		runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		assertThat(indexes("members")).containsExactlyInAnyOrder("members_pkey", "members_email_key");
		assertThat(runner.history().status(migration.id(), 5).lastStatement().state()).isEqualTo("applied");
	}

	@Test
	void concurrentIndexBuildWaitingForAnOpenTransactionIsRetriedAndLeavesNoInvalidIndex() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE visits (id bigint PRIMARY KEY, path text)");
		jdbc.execute("INSERT INTO visits SELECT i, '/page/' || i FROM generate_series(1, 500) i");
		String location = DdlTestScripts.write(this.scripts, "V1__index_path.sql",
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS visits_path ON visits (path);");
		MigrationDefinition migration = migration("visits-path", "public.visits", location, null);
		DdlRunners runner = runner(postgres.newDataSource("zdm-cic-wait", 6));
		try (Connection writer = postgres.database().newConnection()) {
			writer.setAutoCommit(false);
			try (Statement statement = writer.createStatement()) {
				statement.execute("UPDATE visits SET path = path WHERE id = 1");
			}
			CompletableFuture<Void> expand = CompletableFuture
				.runAsync(() -> runner.expand().beforeJoin(migration, MigrationState.initial(migration.id())));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> runner.history().status(migration.id(), 5).totalLockTimeouts() >= 3);
			writer.commit();
			expand.get(30, TimeUnit.SECONDS);
		}
		assertThat(indexes("visits")).containsExactlyInAnyOrder("visits_pkey", "visits_path");
		assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_index WHERE NOT indisvalid", Integer.class)).isZero();
	}

	@Test
	void instanceWithTheExpandPausedOnItselfMovesOnOnceAnotherHasRunIt() {
		postgres.jdbc().execute("CREATE TABLE parcels (id bigint PRIMARY KEY, weight int)");
		String location = DdlTestScripts.write(this.scripts.resolve("parcels"), "V1__add_grams.sql",
				"ALTER TABLE parcels ADD COLUMN grams bigint;");
		MigrationDefinition migration = migration("parcels-grams", "public.parcels", location, null);
		DdlRunners paused = DdlRunners.create(postgres.newDataSource("expand-paused", 4), this.settings,
				new ExpandSettings(false, Duration.ofMinutes(10), Set.of(migration.id())), this.instance,
				Duration.ofSeconds(5), List.of());
		paused.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		assertThat(paused.expand().limit(migration).reason())
			.contains("is paused by zdm.migrations.parcels-grams.expand-paused on this instance");
		assertThat(columns("parcels")).doesNotContain("grams");
		// another instance runs it
		runner(postgres.newDataSource("expand-other", 4)).expand()
			.beforeJoin(migration, MigrationState.initial(migration.id()));
		assertThat(columns("parcels")).contains("grams");
		assertThat(paused.expand().limit(migration)).isNull();
		assertThat(paused.expand().expandProgress(migration.id()).state()).isEqualTo(ExpandProgress.State.DONE);
		paused.destroy();
	}

	@Test
	void declarationRefusedOnceTheBackgroundExpandRanSaysWhatToDo() {
		postgres.jdbc().execute("CREATE TABLE shipments (id bigint PRIMARY KEY, street text)");
		String location = DdlTestScripts.write(this.scripts.resolve("shipments"), "V1__create_addresses.sql",
				"CREATE TABLE shipment_addresses (shipment_id bigint PRIMARY KEY, street text);");
		new MigrationStateRepository(postgres.dataSource()).register("shipments-address");
		// the target key misspelt: only the table the expand creates can tell
		MigrationDefinition migration = MigrationDefinition.builder("shipments-address")
			.table("public.shipments")
			.key("id")
			.targetTable("shipment_addresses")
			.targetKey("shipment_idd")
			.up("street", "street")
			.expandLocations(List.of(location))
			.build();
		DdlRunners background = DdlRunners.create(postgres.newDataSource("expand-refused", 4), this.settings,
				ExpandSettings.defaults(), this.instance, Duration.ofSeconds(5), List.of());
		background.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		await().atMost(Duration.ofSeconds(20))
			.until(() -> background.expand().expandProgress(migration.id()).lastError() != null);
		assertThat(background.expand().expandProgress(migration.id()).lastError()).contains("'shipment_idd'")
			.contains("Action: ")
			.contains("Did you mean 'shipment_id'?")
			.contains("correcting the declaration and starting again is enough");
		// and the held-back reason, between two tries
		await().atMost(Duration.ofSeconds(20))
			.pollInterval(Duration.ofMillis(5))
			.until(() -> String.valueOf(background.expand().limit(migration).reason())
				.contains("Did you mean 'shipment_id'?"));
		background.destroy();
	}

	@Test
	void expandRunsOnlyPendingScriptsAndRecordsThemInItsOwnFlywayHistory() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE orders (id bigint PRIMARY KEY, total int)");
		String location = DdlTestScripts.write(this.scripts, "V1__add_amount.sql",
				"ALTER TABLE orders ADD COLUMN amount numeric(12, 2);\n"
						+ "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_amount ON orders (amount);");
		MigrationDefinition migration = migration("orders-amount", "public.orders", location, null);
		DdlRunners runner = runner(postgres.dataSource());
		runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		DdlTestScripts.write(this.scripts, "V2__add_currency.sql", "ALTER TABLE orders ADD COLUMN currency text;");
		runner.validator().validate(migration, MigrationState.initial(migration.id()));
		runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		assertThat(columns("orders")).contains("amount", "currency");
		assertThat(jdbc.queryForList(
				"SELECT version FROM \"zdm_ddl_expand_orders-amount\" WHERE success ORDER BY installed_rank",
				String.class))
			.containsExactly("0", "1", "2");
		assertThat(jdbc.queryForObject("SELECT to_regclass('flyway_schema_history') IS NULL", Boolean.class)).isTrue();
		assertThat(runner.history().status(migration.id(), 5).statements()).extracting(DdlStatus.Statement::attempts)
			.containsExactly(1, 1, 1);
	}

	@Test
	void backgroundExpandRunsOnOneInstanceAtATimeAndIsTakenOverWhenThatInstanceStops() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE tenants (id bigint PRIMARY KEY, name text)");
		String location = DdlTestScripts.write(this.scripts, "V1__add_display_name.sql",
				"ALTER TABLE tenants ADD COLUMN display_name text;");
		MigrationDefinition migration = migration("tenants-name", "public.tenants", location, null);
		ExpandSettings background = new ExpandSettings(false, Duration.ofMillis(500), java.util.Set.of());
		DdlSettings fewAttempts = this.settings.withMaxAttempts(2);
		DdlRunners first = DdlRunners.create(postgres.newDataSource("expand-first", 4), fewAttempts, background,
				new InstanceInfo("first", null, "localhost", 1), Duration.ofSeconds(5), List.of());
		DdlRunners second = DdlRunners.create(postgres.newDataSource("expand-second", 4), fewAttempts, background,
				new InstanceInfo("second", null, "localhost", 2), Duration.ofSeconds(5), List.of());
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM tenants");
			}
			long started = System.nanoTime();
			first.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
			assertThat(Duration.ofNanos(System.nanoTime() - started)).as("beforeJoin does not wait for the lock")
				.isLessThan(Duration.ofSeconds(5));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> first.expand()
					.expandProgress(migration.id())
					.state() == ExpandProgress.State.WAITING_FOR_LOCK);
			second.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> second.expand()
					.expandProgress(migration.id())
					.state() == ExpandProgress.State.WAITING_FOR_INSTANCE);
			assertThat(first.expand().limit(migration)).isNotNull();
			assertThat(second.expand().limit(migration).reason()).contains("runs on another instance");
			// Past max-attempts, and past the alert time: still trying, and reported as
			// stalled.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> first.expand().expandProgress(migration.id()).lockTimeouts() > 4
						&& first.expand().expandProgress(migration.id()).stalled());
			assertThat(first.expand().limit(migration).reason()).contains("waits for a lock");
			assertThat(first.expand().expandProgress(migration.id()).describe()).contains("STALLED")
				.contains("blocked by pid");
			long stopping = System.nanoTime();
			first.destroy();
			assertThat(Duration.ofNanos(System.nanoTime() - stopping)).as("the expand stops promptly")
				.isLessThan(Duration.ofSeconds(6));
			await().atMost(Duration.ofSeconds(30))
				.until(() -> second.expand()
					.expandProgress(migration.id())
					.state() == ExpandProgress.State.WAITING_FOR_LOCK);
			assertThat(columns("tenants")).doesNotContain("display_name");
			blocker.commit();
			await().atMost(Duration.ofSeconds(30)).until(() -> second.expand().limit(migration) == null);
		}
		finally {
			first.destroy();
			second.destroy();
		}
		assertThat(columns("tenants")).contains("display_name");
		DdlStatus status = second.history().status(migration.id(), 5);
		assertThat(status.step(DdlStep.EXPAND).isDone()).isTrue();
		assertThat(status.step(DdlStep.EXPAND).instanceId()).isEqualTo("second");
		assertThat(second.expand().expandProgress(migration.id()).state()).isEqualTo(ExpandProgress.State.DONE);
	}

	@Test
	void validIndexAndValidatedConstraintLeftByARunThatDiedAreNotBuiltOrValidatedAgain() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE invoices (id bigint PRIMARY KEY, number text)");
		jdbc.execute("INSERT INTO invoices SELECT i, 'n' || i FROM generate_series(1, 100) i");
		String location = DdlTestScripts.write(this.scripts, "V1__index_and_check.sql",
				"CREATE INDEX CONCURRENTLY invoices_number ON invoices (number);\n"
						+ "ALTER TABLE invoices VALIDATE CONSTRAINT invoices_number_not_null;");
		MigrationDefinition migration = migration("invoices-number", "public.invoices", location, null);
		// What a run that died after the build and the validation leaves: the work done,
		// its records not.
		jdbc.execute("CREATE INDEX invoices_number ON invoices (number)");
		jdbc.execute("ALTER TABLE invoices ADD CONSTRAINT invoices_number_not_null CHECK (number IS NOT NULL)");
		DdlRunners runner = runner(postgres.dataSource());
		assertThatNoException()
			.isThrownBy(() -> runner.expand().beforeJoin(migration, MigrationState.initial(migration.id())));
		DdlStatus status = runner.history().status(migration.id(), 5);
		assertThat(status.statements()).extracting(DdlStatus.Statement::state).containsExactly("applied", "applied");
		assertThat(status.statements()).as("neither ran").extracting(DdlStatus.Statement::attempts).containsOnly(0);
		assertThat(indexes("invoices")).containsExactlyInAnyOrder("invoices_pkey", "invoices_number");
	}

	@Test
	void backgroundExpandsOfSeveralMigrationsRunOnlyAsManyAtOnceAsThePoolHasRoomFor(CapturedOutput output)
			throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE queued_a (id bigint PRIMARY KEY, name text)");
		jdbc.execute("CREATE TABLE queued_b (id bigint PRIMARY KEY, name text)");
		MigrationDefinition a = migration("queued-a", "public.queued_a", DdlTestScripts.write(this.scripts.resolve("a"),
				"V1__add_display_name.sql", "ALTER TABLE queued_a ADD COLUMN display_name text;"), null);
		MigrationDefinition b = migration("queued-b", "public.queued_b", DdlTestScripts.write(this.scripts.resolve("b"),
				"V1__add_display_name.sql", "ALTER TABLE queued_b ADD COLUMN display_name text;"), null);
		// a pool of 4: one expand at a time (3 connections), one connection left over
		ExpandSettings background = new ExpandSettings(false, Duration.ofMinutes(10), java.util.Set.of(), 4);
		DdlRunners runner = DdlRunners.create(postgres.newDataSource("expand-queued", 4), this.settings, background,
				this.instance, Duration.ofSeconds(5), List.of());
		try (Connection blocker = postgres.database().newConnection()) {
			// both tables held by an open transaction: whichever expand runs waits for
			// its lock, and holds the pool's room for one while it does
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM queued_a, queued_b");
			}
			runner.expand().beforeJoin(a, MigrationState.initial(a.id()));
			runner.expand().beforeJoin(b, MigrationState.initial(b.id()));
			await().atMost(Duration.ofSeconds(30)).until(() -> {
				List<ExpandProgress.State> states = List.of(runner.expand().expandProgress(a.id()).state(),
						runner.expand().expandProgress(b.id()).state());
				return states.contains(ExpandProgress.State.WAITING_FOR_LOCK)
						&& states.contains(ExpandProgress.State.QUEUED);
			});
			ExpandProgress.State stateOfA = runner.expand().expandProgress(a.id()).state();
			MigrationDefinition queued = (stateOfA == ExpandProgress.State.QUEUED) ? a : b;
			MigrationDefinition running = (queued == a) ? b : a;
			assertThat(runner.expand().limit(queued).reason())
				.contains("waits for the expand of another migration on this instance");
			// the step held back (the endpoint's stepHeldBack) names the migration it
			// waits for, and the log says so once, however long the wait
			String waits = "waits for the expand DDL of migration '" + running.id() + "', which runs on this "
					+ "instance: the connection pool has room for 1 expand at once (each holds 3 connections), and "
					+ "this one starts when one of them ends or fails";
			assertThat(runner.expand().stepHeldBack(queued.id())).isEqualTo("the expand DDL " + waits);
			assertThat(runner.expand().stepHeldBack(running.id())).isNull();
			int timeouts = runner.expand().expandProgress(running.id()).lockTimeouts();
			await().atMost(Duration.ofSeconds(30))
				.until(() -> runner.expand().expandProgress(running.id()).lockTimeouts() >= timeouts + 3);
			assertThat(output.getAll()
				.lines()
				.filter((line) -> line.contains("INFO")
						&& line.contains("zdm: the expand DDL of migration '" + queued.id() + "' " + waits)))
				.hasSize(1);
			blocker.commit();
			await().atMost(Duration.ofSeconds(30))
				.until(() -> runner.expand().limit(a) == null && runner.expand().limit(b) == null);
		}
		finally {
			runner.destroy();
		}
		assertThat(columns("queued_a")).contains("display_name");
		assertThat(columns("queued_b")).contains("display_name");
		assertThat(runner.expand().stepHeldBack(a.id())).isNull();
		assertThat(runner.expand().stepHeldBack(b.id())).isNull();
	}

	private MigrationDefinition migration(String id, String table, String expand, String contract) {
		MigrationDefinition.Builder builder = MigrationDefinition.builder(id)
			.table(table)
			.expandLocations(List.of(expand));
		if (contract != null) {
			builder.contractLocations(List.of(contract));
		}
		new MigrationStateRepository(postgres.dataSource()).register(id);
		return builder.build();
	}

	private DdlRunners runner(javax.sql.DataSource dataSource) {
		return DdlRunners.create(dataSource, this.settings, AT_STARTUP, this.instance, Duration.ofSeconds(5),
				List.of());
	}

	private static List<String> columns(String table) {
		return postgres.jdbc()
			.queryForList(
					"SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped",
					String.class, table);
	}

	private static List<String> indexes(String table) {
		return postgres.jdbc()
			.queryForList("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = to_regclass(?)",
					String.class, table);
	}

	private static int pid(Connection connection) throws Exception {
		try (Statement statement = connection.createStatement();
				ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
			rs.next();
			return rs.getInt(1);
		}
	}

	// Lock waits bounded by the server rather than timed by the wall clock of a loaded
	// machine: a session that waits for a lock longer than this fails.
	private static HikariDataSource waitingForALockAtMost(String poolName, int size, Duration lockWait) {
		HikariConfig config = postgres.database().newPoolConfig(poolName, size);
		config.setConnectionInitSql("SET lock_timeout = '" + lockWait.toMillis() + "ms'");
		return new HikariDataSource(config);
	}

	/**
	 * Threads that read the table in a loop on their own sessions and keep the longest
	 * read and the first failure.
	 */
	static final class ReadWorkload {

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final AtomicLong longestNanos = new AtomicLong();

		private final AtomicLong completed = new AtomicLong();

		private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();

		private final List<Thread> threads = new ArrayList<>();

		ReadWorkload(javax.sql.DataSource dataSource, int threads) {
			JdbcTemplate jdbc = new JdbcTemplate(dataSource);
			for (int i = 0; i < threads; i++) {
				Thread thread = new Thread(() -> {
					long id = 1;
					try {
						while (this.running.get()) {
							long started = System.nanoTime();
							jdbc.queryForList("SELECT email FROM accounts WHERE id = ?", String.class, id);
							long took = System.nanoTime() - started;
							this.longestNanos.accumulateAndGet(took, Math::max);
							this.completed.incrementAndGet();
							id = (id % 1000) + 1;
						}
					}
					catch (RuntimeException ex) {
						this.failure.compareAndSet(null, ex);
					}
				}, "reader-" + i);
				thread.setDaemon(true);
				thread.start();
				this.threads.add(thread);
			}
		}

		long stop() throws InterruptedException {
			this.running.set(false);
			for (Thread thread : this.threads) {
				thread.join(10_000);
			}
			return TimeUnit.NANOSECONDS.toMillis(this.longestNanos.get());
		}

		long completed() {
			return this.completed.get();
		}

		@Nullable Throwable failure() {
			return this.failure.get();
		}

	}

}
