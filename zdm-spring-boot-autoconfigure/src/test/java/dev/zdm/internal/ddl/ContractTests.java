package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import javax.sql.DataSource;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.FleetSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link ContractRunner}: the contract step runs once, on one instance, once
 * every live instance is at {@code contract}.
 */
class ContractTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	private final DdlSettings settings = DdlSettings.defaults()
		.withMaxAttempts(50)
		.withBackoff(Duration.ofMillis(50), Duration.ofMillis(500));

	private final List<PhaseController> controllers = new ArrayList<>();

	private final Map<String, HeartbeatCounter> heartbeats = new ConcurrentHashMap<>();

	@BeforeAll
	static void createTables() {
		postgres.jdbc().execute("CREATE TABLE contract_runs (migration_id text, application_name text)");
	}

	@org.junit.jupiter.api.AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void contractWaitsWhileAnInstanceAtReadNewIsLiveAndRunsOnceItLeaves() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE people (id bigint PRIMARY KEY, name text)");
		jdbc.execute("INSERT INTO people SELECT i, 'person ' || i FROM generate_series(1, 100) i");
		MigrationDefinition migration = migration("people-name", "people",
				"ALTER TABLE people ADD COLUMN full_name text;", "ALTER TABLE people DROP COLUMN name;");
		SyncTriggerContributor trigger = new SyncTriggerContributor();
		PhaseController readNew = start(migration, Phase.READ_NEW, "instance-b", trigger);
		assertThat(triggers("people")).containsExactly("people_sync");
		PhaseController contract = start(migration, Phase.CONTRACT, "instance-a", trigger);
		await().atMost(Duration.ofSeconds(10))
			.until(() -> contract.status(migration.id()).effective() == Phase.CONTRACT);
		// each heartbeat of instance-a gives it its chance to run the contract
		this.heartbeats.get("instance-a").awaitHeartbeats(5);
		assertThat(columns("people")).contains("name", "full_name");
		assertThat(new MigrationStateRepository(postgres.dataSource()).find(migration.id()).isContracted()).isFalse();
		assertThat(triggers("people")).containsExactly("people_sync");
		readNew.stop();
		await().atMost(Duration.ofSeconds(20))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(migration.id(), DdlStep.CONTRACT));
		assertThat(columns("people")).doesNotContain("name").contains("full_name");
		assertThat(triggers("people")).isEmpty();
		assertThat(new MigrationStateRepository(postgres.dataSource()).find(migration.id()).contractedBy())
			.isEqualTo("instance-a");
		DdlStatus status = new DdlHistoryRepository(postgres.dataSource()).status(migration.id(), 5);
		assertThat(status.statements()).filteredOn((statement) -> statement.step() == DdlStep.CONTRACT)
			.extracting(DdlStatus.Statement::source)
			.containsExactly("contributor:SyncTriggerContributor", "contributor:SyncTriggerContributor",
					"V1__contract.sql");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> start(migration, Phase.READ_NEW, "instance-c", trigger))
			.withMessageContaining("contract DDL already ran");
	}

	// the script's DROP COLUMN would fail on the generated column after the sync trigger
	// was gone, and the generated column would follow a column no write reaches any more
	@Test
	void contractWhoseScriptDropsAColumnAnotherDependsOnWaitsWithTheSyncTriggerInPlace() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		// a CHECK constraint and an index on the column go with it (PostgreSQL drops them
		// along), and do not hold it back either
		jdbc.execute("CREATE TABLE priced (id bigint PRIMARY KEY, price int CONSTRAINT priced_price_positive "
				+ "CHECK (price >= 0), qty int, total int GENERATED ALWAYS AS (price * qty) STORED, "
				+ "CONSTRAINT priced_price_qty CHECK (price < 1000000 OR qty > 0))");
		jdbc.execute("CREATE INDEX priced_price ON priced (price)");
		jdbc.execute("INSERT INTO priced (id, price, qty) SELECT i, i, 2 FROM generate_series(1, 100) i");
		// a view the script drops itself does not hold it back
		jdbc.execute("CREATE VIEW priced_prices AS SELECT id, price FROM priced");
		MigrationDefinition migration = migration("priced-unit", "priced",
				"ALTER TABLE priced ADD COLUMN unit_price int;",
				"DROP VIEW priced_prices;\nALTER TABLE priced DROP COLUMN price;");
		ContractDependents dependents = new ContractDependents(postgres.dataSource());
		// the application's inserts, updates and deletes, on the columns the contract
		// keeps, from before the wait until after the contract
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		AtomicLong[] writes = { new AtomicLong(), new AtomicLong(), new AtomicLong() };
		Set<Long> updated = ConcurrentHashMap.newKeySet();
		Thread writer = new Thread(() -> {
			long next = 1_000;
			try (Connection connection = postgres.database().newConnection();
					Statement statement = connection.createStatement()) {
				while (writing.get()) {
					long id = ThreadLocalRandom.current().nextLong(1, 101);
					statement.execute("INSERT INTO priced (id, qty) VALUES (" + next++ + ", 3)");
					writes[0].incrementAndGet();
					if (statement.executeUpdate("UPDATE priced SET qty = qty + 1 WHERE id = " + id) == 1) {
						updated.add(id);
					}
					writes[1].incrementAndGet();
					statement.executeUpdate("DELETE FROM priced WHERE id = " + (next - 2));
					writes[2].incrementAndGet();
					Thread.sleep(5);
				}
			}
			catch (Exception ex) {
				failure.compareAndSet(null, ex);
			}
		}, "priced-writer");
		writer.start();
		PhaseController contract = start(migration, Phase.CONTRACT, "priced-a",
				new SyncTriggerContributor("priced_sync", "unit_price", "price"));
		await().atMost(Duration.ofSeconds(10))
			.until(() -> contract.status(migration.id()).effective() == Phase.CONTRACT);
		// each heartbeat gives it its chance to run the contract
		long[] waitStarts = counts(writes);
		updated.clear(); // rows written before the expand put the sync trigger in place
		this.heartbeats.get("priced-a").awaitHeartbeats(5);
		assertThat(new MigrationStateRepository(postgres.dataSource()).find(migration.id()).isContracted()).isFalse();
		assertThat(triggers("priced")).containsExactly("priced_sync");
		assertThat(columns("priced")).contains("price", "unit_price", "total");
		assertThat(dependents.holdBack(contract.status(migration.id()).migration(),
				new DdlScriptLoader(new DefaultResourceLoader()).load(migration.id(), DdlStep.CONTRACT,
						migration.contractLocations())))
			.startsWith("script V1__contract.sql drops column price of priced, on which generated column total of "
					+ "priced depends. PostgreSQL would refuse the DROP COLUMN")
			.doesNotContain("priced_prices")
			.doesNotContain("constraint")
			.doesNotContain("index")
			.contains("nothing of the contract of migration 'priced-unit' has run");
		// and the instances say so where the endpoint and the test kit read it, a second
		// one too
		PhaseController other = start(migration, Phase.CONTRACT, "priced-b",
				new SyncTriggerContributor("priced_sync", "unit_price", "price"));
		for (PhaseController instance : List.of(contract, other)) {
			await().atMost(Duration.ofSeconds(10))
				.untilAsserted(() -> assertThat(instance.stepHeldBack(migration.id()))
					.startsWith("the contract DDL waits: script V1__contract.sql drops column price of priced, on "
							+ "which generated column total of priced depends"));
		}
		// the sync trigger still keeps the two columns in step, and what depends on the
		// old
		jdbc.update("UPDATE priced SET price = 7 WHERE id = 1");
		// (the writer changes its qty meanwhile)
		assertThat(jdbc.queryForObject("SELECT unit_price || ' ' || (total = 7 * qty) FROM priced WHERE id = 1",
				String.class))
			.isEqualTo("7 true");
		// and every row the application wrote during the wait
		assertThat(jdbc.queryForObject(
				"SELECT count(*) FROM priced WHERE id = ANY (?) " + "AND unit_price IS DISTINCT FROM price", Long.class,
				(Object) updated.toArray(Long[]::new)))
			.isZero();
		long[] waitEnds = counts(writes);
		// once the dependent is gone, the contract runs
		jdbc.execute("ALTER TABLE priced DROP COLUMN total");
		await().atMost(Duration.ofSeconds(20))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(migration.id(), DdlStep.CONTRACT));
		long[] contracted = counts(writes);
		await().atMost(Duration.ofSeconds(10)).until(() -> counts(writes)[2] > contracted[2] + 10);
		writing.set(false);
		writer.join();
		assertThat(failure.get()).isNull();
		for (int kind = 0; kind < 3; kind++) {
			assertThat(waitEnds[kind]).as("writes of kind %s during the wait", kind).isGreaterThan(waitStarts[kind]);
			assertThat(contracted[kind]).as("writes of kind %s up to the contract", kind).isGreaterThan(waitEnds[kind]);
		}
		assertThat(columns("priced")).containsExactly("id", "qty", "unit_price");
		assertThat(triggers("priced")).isEmpty();
		// whichever instance ran the contract, neither shows the wait any more (the one
		// that did not run it kept it)
		for (PhaseController instance : List.of(contract, other)) {
			await().atMost(Duration.ofSeconds(10)).until(() -> instance.stepHeldBack(migration.id()) == null);
		}
	}

	// a judge's run: the team's own index on the old column of a rename went with the
	// contract's DROP COLUMN, unsaid, and the new column was left without one
	@Test
	void contractWhoseScriptDropsAColumnWithAnIndexSaysSoOnceAndRuns() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE indexed_orders (id bigint PRIMARY KEY, customer_name text)");
		jdbc.execute("INSERT INTO indexed_orders SELECT i, 'customer ' || i FROM generate_series(1, 100) i");
		// made by the team's own Flyway migration, as the judge's was
		jdbc.execute("CREATE INDEX indexed_orders_customer_name_idx ON indexed_orders (customer_name)");
		// an index on a column the contract keeps is not told
		jdbc.execute("CREATE INDEX indexed_orders_id_idx ON indexed_orders (id DESC)");
		MigrationDefinition migration = migration("indexed-orders-buyer", "indexed_orders",
				"ALTER TABLE indexed_orders ADD COLUMN buyer_name text;",
				"ALTER TABLE indexed_orders DROP COLUMN customer_name;");
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger runnerLog = (Logger) LoggerFactory.getLogger(ContractRunner.class);
		log.start();
		runnerLog.addAppender(log);
		try {
			PhaseController contract = start(migration, Phase.CONTRACT, "indexed-a",
					new SyncTriggerContributor("indexed_orders_sync", "buyer_name", "customer_name"));
			await().atMost(Duration.ofSeconds(20))
				.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(migration.id(),
						DdlStep.CONTRACT));
			// heartbeats after the contract, at which it could have been told again
			this.heartbeats.get("indexed-a").awaitHeartbeats(3);
			assertThat(contract.stepHeldBack(migration.id())).isNull();
			List<ILoggingEvent> events;
			synchronized (log) {
				events = new ArrayList<>(log.list);
			}
			assertThat(events).filteredOn((event) -> event.getLevel() == Level.WARN)
				.extracting(ILoggingEvent::getFormattedMessage)
				.filteredOn((message) -> message.contains("'" + migration.id() + "'"))
				.containsExactly("zdm: the contract of migration 'indexed-orders-buyer' drops index "
						+ "indexed_orders_customer_name_idx (CREATE INDEX indexed_orders_customer_name_idx ON "
						+ "public.indexed_orders USING btree (customer_name)) on column customer_name of "
						+ "indexed_orders, dropped by script V1__contract.sql: DROP COLUMN drops an index on the "
						+ "column with it, and nothing makes its equivalent on the new column. If queries need one, "
						+ "create it on the new column before the contract (CREATE INDEX CONCURRENTLY in a Flyway "
						+ "migration or an expand script); the contract goes on either way");
		}
		finally {
			runnerLog.detachAppender(log);
		}
		// the contract ran: the column and its index are gone, the other index stays
		assertThat(columns("indexed_orders")).containsExactly("id", "buyer_name");
		assertThat(jdbc.queryForList("SELECT indexrelid::regclass::text FROM pg_index "
				+ "WHERE indrelid = 'indexed_orders'::regclass ORDER BY 1", String.class))
			.containsExactly("indexed_orders_id_idx", "indexed_orders_pkey");
	}

	// an outside run's key widening: the contract dropped the serial key's old column,
	// and with it its sequence; the new key column was left without numbering
	@Test
	void contractWhoseScriptDropsAColumnOwningASequenceWaitsUntilTheScriptsMoveIt() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE tickets (ref text PRIMARY KEY, seq_no serial, seq_big bigint)");
		jdbc.execute("INSERT INTO tickets (ref) SELECT 'r' || i FROM generate_series(1, 100) i");
		jdbc.execute("UPDATE tickets SET seq_big = seq_no");
		MigrationDefinition dropsIt = migration("tickets-seq", "tickets",
				"ALTER TABLE tickets ADD COLUMN IF NOT EXISTS seq_big bigint;",
				"ALTER TABLE tickets DROP COLUMN seq_no;");
		ContractDependents dependents = new ContractDependents(postgres.dataSource());
		DdlScriptLoader loader = new DdlScriptLoader(new DefaultResourceLoader());
		assertThat(
				dependents.holdBack(dropsIt, loader.load(dropsIt.id(), DdlStep.CONTRACT, dropsIt.contractLocations())))
			.startsWith(
					"script V1__contract.sql drops column seq_no of tickets, which owns sequence tickets_seq_no_seq "
							+ "(a serial column, or OWNED BY): DROP COLUMN drops the sequence with it")
			.contains("ALTER SEQUENCE tickets_seq_no_seq OWNED BY tickets.<new column>")
			.contains("DROP SEQUENCE IF EXISTS tickets_seq_no_seq")
			.doesNotContain("PostgreSQL would refuse")
			.endsWith(
					"nothing of the contract of migration 'tickets-seq' has run, and it starts once the scripts can run");
		// with the new column's default reading it, the drop itself would fail
		jdbc.execute("ALTER TABLE tickets ALTER COLUMN seq_big SET DEFAULT nextval('tickets_seq_no_seq')");
		assertThat(
				dependents.holdBack(dropsIt, loader.load(dropsIt.id(), DdlStep.CONTRACT, dropsIt.contractLocations())))
			.contains("(the default of seq_big reads it, so the drop would fail)");
		// the scripts move it: the contract runs, under inserts that leave the numbering
		// to the database, and the numbering goes on
		MigrationDefinition movesIt = migration("tickets-moved", "tickets",
				"ALTER TABLE tickets ADD COLUMN IF NOT EXISTS seq_big bigint;",
				"ALTER SEQUENCE tickets_seq_no_seq OWNED BY tickets.seq_big;\nALTER TABLE tickets DROP COLUMN seq_no;");
		assertThat(
				dependents.holdBack(movesIt, loader.load(movesIt.id(), DdlStep.CONTRACT, movesIt.contractLocations())))
			.isNull();
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicReference<Throwable> failure = new AtomicReference<>();
		AtomicLong inserted = new AtomicLong();
		Thread writer = new Thread(() -> {
			try (Connection connection = postgres.database().newConnection();
					Statement statement = connection.createStatement()) {
				while (writing.get()) {
					statement.execute("INSERT INTO tickets (ref) VALUES ('w" + inserted.incrementAndGet() + "')");
					Thread.sleep(5);
				}
			}
			catch (Exception ex) {
				failure.compareAndSet(null, ex);
			}
		}, "tickets-writer");
		writer.start();
		start(movesIt, Phase.CONTRACT, "tickets-a", null);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(movesIt.id(), DdlStep.CONTRACT));
		long contracted = inserted.get();
		await().atMost(Duration.ofSeconds(10)).until(() -> inserted.get() > contracted + 20);
		writing.set(false);
		writer.join();
		assertThat(failure.get()).isNull();
		assertThat(columns("tickets")).containsExactly("ref", "seq_big");
		assertThat(jdbc.queryForObject("SELECT count(*) FROM tickets WHERE seq_big IS NULL", Long.class)).isZero();
		assertThat(jdbc.queryForObject("SELECT count(DISTINCT seq_big) = count(*) FROM tickets", Boolean.class))
			.isTrue();
	}

	private static long[] counts(AtomicLong[] writes) {
		return new long[] { writes[0].get(), writes[1].get(), writes[2].get() };
	}

	@Test
	void contractWaitsForAnInstanceThatLeftAtReadNewUntilItHasBeenGoneTheFleetTimeout() throws Exception {
		postgres.jdbc().execute("CREATE TABLE pets (id bigint PRIMARY KEY, name text)");
		MigrationDefinition migration = migration("pets-name", "pets",
				"ALTER TABLE pets ADD COLUMN IF NOT EXISTS full_name text;", "ALTER TABLE pets DROP COLUMN name;");
		// a fleet timeout long enough to see the contract wait, ended by ageing the leave
		FleetSettings fleet = TestFleet.SETTINGS.withHeartbeat(TestFleet.HEARTBEAT_INTERVAL, Duration.ofSeconds(60));
		PhaseController readNew = start(migration, Phase.READ_NEW, "instance-b", null, fleet);
		// the final check stands for the preconditions: it reads both sides of the table
		AtomicInteger finalChecks = new AtomicInteger();
		PhaseController contract = start(migration, Phase.CONTRACT, "instance-a", null, fleet, (checked) -> {
			finalChecks.incrementAndGet();
			return null;
		});
		await().atMost(Duration.ofSeconds(10))
			.until(() -> contract.status(migration.id()).effective() == Phase.CONTRACT);
		// a graceful stop, as of an instance stopped to be restarted at the phase it is
		// deployed with
		readNew.stop();
		// each heartbeat of instance-a gives it its chance to claim the contract
		await().during(Duration.ofSeconds(5))
			.atMost(Duration.ofSeconds(15))
			.until(() -> !new MigrationStateRepository(postgres.dataSource()).find(migration.id()).isContracted());
		assertThat(contract.status(migration.id()).fleet()).extracting(FleetMember::instanceId)
			.as("the instance that left is no member")
			.containsExactly("instance-a");
		assertThat(columns("pets")).contains("name", "full_name");
		assertThat(finalChecks).as("preconditions run while the fleet keeps the contract waiting").hasValue(0);
		TestFleet.age(postgres.dataSource(), "instance-b", Duration.ofSeconds(61));
		await().atMost(Duration.ofSeconds(20))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(migration.id(), DdlStep.CONTRACT));
		assertThat(columns("pets")).doesNotContain("name").contains("full_name");
		assertThat(finalChecks).hasValue(1);
	}

	// an instance runs one contract at a time: an outside run saw a contract due wait
	// ~66 s behind another migration's DROP retried behind a lock, with contracted:
	// false, no stepHeldBack, no step and no log line
	@Test
	void contractDueWhileAnotherMigrationsContractWaitsForALockSaysItWaitsForIt() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		// expanded already (the expands lock nothing the readers below hold)
		jdbc.execute("CREATE TABLE queued_address (id bigint PRIMARY KEY, address text, street text)");
		jdbc.execute("CREATE TABLE queued_email (id bigint PRIMARY KEY, email text, email_address text)");
		MigrationDefinition address = migration("queued-address", "queued_address",
				"CREATE TABLE IF NOT EXISTS queued_address_expanded (id int);",
				"ALTER TABLE queued_address DROP COLUMN address;");
		MigrationDefinition email = migration("queued-email", "queued_email",
				"CREATE TABLE IF NOT EXISTS queued_email_expanded (id int);",
				"ALTER TABLE queued_email DROP COLUMN email;");
		ListAppender<ILoggingEvent> log = new ListAppender<>();
		Logger runnerLog = (Logger) LoggerFactory.getLogger(ContractRunner.class);
		log.start();
		runnerLog.addAppender(log);
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource());
		try (Connection addressReader = postgres.database().newConnection();
				Connection emailReader = postgres.database().newConnection()) {
			// both tables are read by open transactions, so whichever contract the
			// instance starts first waits for its lock, between its attempts, and the
			// other waits behind it
			for (Connection reader : List.of(addressReader, emailReader)) {
				reader.setAutoCommit(false);
			}
			try (Statement statement = addressReader.createStatement()) {
				statement.execute("SELECT count(*) FROM queued_address");
			}
			try (Statement statement = emailReader.createStatement()) {
				statement.execute("SELECT count(*) FROM queued_email");
			}
			DataSource pool = postgres.newDataSource("queued-a", 8);
			InstanceInfo instance = new InstanceInfo("queued-a", null, "localhost", 1);
			DdlRunners runner = DdlRunners.create(pool, this.settings.withLockTimeout(Duration.ofMillis(200)),
					ExpandSettings.defaults(), instance, TestFleet.SETTINGS.timeout(), List.of());
			HeartbeatCounter heartbeats = new HeartbeatCounter();
			PhaseController controller = TestEngine.phaseController(pool,
					List.of(address.toBuilder().requestedPhase(Phase.CONTRACT).build(),
							email.toBuilder().requestedPhase(Phase.CONTRACT).build()),
					instance, TestFleet.SETTINGS,
					Stream.concat(runner.participants().stream(), Stream.of(heartbeats)).toList());
			controller.start();
			this.controllers.add(controller);
			String[] queued = new String[2];
			await().atMost(Duration.ofSeconds(30)).until(() -> {
				for (String[] pair : List.of(new String[] { address.id(), email.id() },
						new String[] { email.id(), address.id() })) {
					String heldBack = controller.stepHeldBack(pair[0]);
					if (heldBack != null && heldBack.contains("'" + pair[1] + "'")) {
						queued[0] = pair[0];
						queued[1] = pair[1];
						return true;
					}
				}
				return false;
			});
			String waiting = queued[0];
			String running = queued[1];
			assertThat(controller.stepHeldBack(waiting)).startsWith("the contract waits for the contract step of "
					+ "migration '" + running + "', which runs on this instance");
			// it stays so, told once, while the other's DROP waits for its lock
			heartbeats.awaitHeartbeats(5);
			assertThat(controller.stepHeldBack(waiting)).contains("'" + running + "'");
			assertThat(states.find(waiting).isContracted()).isFalse();
			assertThat(history.isStepDone(running, DdlStep.CONTRACT)).isFalse();
			assertThat(log.list).filteredOn((event) -> event.getLevel() == Level.INFO)
				.extracting(ILoggingEvent::getFormattedMessage)
				.filteredOn((message) -> message.contains("contract of migration '" + waiting + "' waits for"))
				.containsExactly("zdm: the contract of migration '" + waiting + "' waits for the contract step of "
						+ "migration '" + running + "', which runs on this instance: an instance runs one contract "
						+ "at a time, and this one is claimed and run once that one ends or fails (its statements "
						+ "and lock timeouts are in that migration's ddl)");
			addressReader.rollback();
			emailReader.rollback();
			await().atMost(Duration.ofSeconds(30))
				.until(() -> history.isStepDone(address.id(), DdlStep.CONTRACT)
						&& history.isStepDone(email.id(), DdlStep.CONTRACT));
			assertThat(controller.stepHeldBack(waiting)).isNull();
			assertThat(controller.stepHeldBack(running)).isNull();
			assertThat(columns("queued_address")).containsExactly("id", "street");
			assertThat(columns("queued_email")).containsExactly("id", "email_address");
		}
		finally {
			runnerLog.detachAppender(log);
		}
	}

	// an outside run: two instances each claimed one of two contracts, both waiting for
	// a lock, and each said the other migration's contract waited behind its own, on
	// this instance: a contract claimed elsewhere does not wait here while its claimer
	// lives; a fault run: once the claimer was gone, its contract waited here 2 min 12 s
	// behind this instance's own, and nothing said so
	@Test
	void contractClaimedByAnotherInstanceWaitsBehindThisOnesContractOnlyOnceThatInstanceIsGone() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE elsewhere_address (id bigint PRIMARY KEY, address text, street text)");
		jdbc.execute("CREATE TABLE elsewhere_email (id bigint PRIMARY KEY, email text, email_address text)");
		MigrationDefinition address = migration("elsewhere-address", "elsewhere_address",
				"CREATE TABLE IF NOT EXISTS elsewhere_address_expanded (id int);",
				"ALTER TABLE elsewhere_address DROP COLUMN address;");
		// the email's expand needs its table's lock: its contract is due only once the
		// reader below lets the expand run
		MigrationDefinition email = migration("elsewhere-email", "elsewhere_email",
				"ALTER TABLE elsewhere_email ADD COLUMN IF NOT EXISTS note text;",
				"ALTER TABLE elsewhere_email DROP COLUMN email;");
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource());
		try (Connection addressReader = postgres.database().newConnection();
				Connection emailReader = postgres.database().newConnection()) {
			for (Connection reader : List.of(addressReader, emailReader)) {
				reader.setAutoCommit(false);
			}
			try (Statement statement = addressReader.createStatement()) {
				statement.execute("SELECT count(*) FROM elsewhere_address");
			}
			try (Statement statement = emailReader.createStatement()) {
				statement.execute("SELECT count(*) FROM elsewhere_email");
			}
			DataSource pool = postgres.newDataSource("elsewhere-a", 8);
			InstanceInfo instance = new InstanceInfo("elsewhere-a", null, "localhost", 1);
			DdlRunners runner = DdlRunners.create(pool, this.settings.withLockTimeout(Duration.ofMillis(200)),
					ExpandSettings.defaults(), instance, TestFleet.SETTINGS.timeout(), List.of());
			HeartbeatCounter heartbeats = new HeartbeatCounter();
			PhaseController controller = TestEngine.phaseController(pool,
					List.of(address.toBuilder().requestedPhase(Phase.CONTRACT).build(),
							email.toBuilder().requestedPhase(Phase.CONTRACT).build()),
					instance, TestFleet.SETTINGS,
					Stream.concat(runner.participants().stream(), Stream.of(heartbeats)).toList());
			controller.start();
			this.controllers.add(controller);
			// this instance claims the address's contract, which waits for its lock
			await().atMost(Duration.ofSeconds(30)).until(() -> states.find(address.id()).isContracted());
			// meanwhile another instance, live, claims the email's; once the email's
			// expand is done here, this one queues a run to resume it if need be
			FleetRegistry registry = new FleetRegistry(postgres.dataSource());
			InstanceInfo claimer = new InstanceInfo("elsewhere-b", null, "localhost", 2);
			try (Heartbeating claiming = new Heartbeating(registry, claimer, email.id())) {
				assertThat(states.markContracted(email.id(), "elsewhere-b")).isTrue();
				emailReader.rollback();
				await().atMost(Duration.ofSeconds(30))
					.until(() -> controller.status(email.id()).effective() == Phase.CONTRACT);
				heartbeats.awaitHeartbeats(5);
				assertThat(history.isStepDone(address.id(), DdlStep.CONTRACT)).isFalse();
				String shown = controller.stepHeldBack(email.id());
				assertThat((shown != null) ? shown : "").doesNotContain("waits for the contract step")
					.doesNotContain("resumed on this instance");
			}
			// the claimer stops: once gone from the fleet, its unfinished contract is
			// resumed here, after this instance's own, and says so
			await().atMost(Duration.ofSeconds(30)).until(() -> controller.stepHeldBack(email.id()) != null);
			assertThat(controller.stepHeldBack(email.id())).isEqualTo("the contract, claimed by instance elsewhere-b, "
					+ "which is no longer in the fleet, and not finished, is resumed on this instance after the contract "
					+ "step of migration '" + address.id()
					+ "', which runs here now: an instance runs one contract at a "
					+ "time (its statements and lock timeouts are in that migration's ddl)");
			assertThat(history.isStepDone(address.id(), DdlStep.CONTRACT)).isFalse();
			// another survivor, live, resumed it first: this one says nothing of resuming
			// it (a fault run saw it say so while the other ran it)
			InstanceInfo resumer = new InstanceInfo("elsewhere-c", null, "localhost", 3);
			try (Heartbeating resuming = new Heartbeating(registry, resumer, email.id())) {
				history.stepStarted(email.id(), DdlStep.CONTRACT, "elsewhere-c");
				await().atMost(Duration.ofSeconds(30)).until(() -> controller.stepHeldBack(email.id()) == null);
			}
			// and once that one is gone too, it is resumed here, and says whose run it
			// was
			await().atMost(Duration.ofSeconds(30)).until(() -> controller.stepHeldBack(email.id()) != null);
			assertThat(controller.stepHeldBack(email.id())).startsWith("the contract, claimed by instance elsewhere-b "
					+ "and last run by instance elsewhere-c, which is no longer in the fleet, and not finished, is "
					+ "resumed on this instance after the contract step of migration '" + address.id() + "'");
			addressReader.rollback();
			await().atMost(Duration.ofSeconds(30))
				.until(() -> history.isStepDone(address.id(), DdlStep.CONTRACT)
						&& history.isStepDone(email.id(), DdlStep.CONTRACT));
		}
	}

	// an outside run's widened key, renamed back to the old name by the contract: an
	// instance restarted with the configuration it ran the contract with was refused
	// ("new column ... does not exist"), and stayed down
	@Test
	void anInstanceStartsAgainAfterAContractThatRenamedTheNewColumn() throws Exception {
		postgres.jdbc().execute("CREATE TABLE renamed (id bigint PRIMARY KEY, code int, code_big bigint)");
		postgres.jdbc()
			.execute("INSERT INTO renamed (id, code, code_big) SELECT i, i, i FROM generate_series(1, 50) i");
		// the contract run without up, as this test has no backfill to verify; the
		// restart declares it, as the application that ran the contract did
		MigrationDefinition contracted = migration("renamed-code", "renamed",
				"ALTER TABLE renamed ADD COLUMN IF NOT EXISTS code_big bigint;",
				"ALTER TABLE renamed DROP COLUMN code;\n-- zdm:allow rename: the application reads code_big as code from now on\n"
						+ "ALTER TABLE renamed RENAME COLUMN code_big TO code;");
		MigrationDefinition migration = contracted.toBuilder().up("code_big", "code::bigint").build();
		PhaseController first = start(contracted, Phase.CONTRACT, "renamed-a", null);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(migration.id(), DdlStep.CONTRACT));
		assertThat(columns("renamed")).containsExactly("id", "code");
		first.stop();
		// restarted as it ran: it starts, at contract, with nothing more to do
		PhaseController again = start(migration, Phase.CONTRACT, "renamed-b", null);
		await().atMost(Duration.ofSeconds(10)).until(() -> again.status(migration.id()).effective() == Phase.CONTRACT);
		assertThat(again.status(migration.id()).state().isContracted()).isTrue();
		assertThat(columns("renamed")).containsExactly("id", "code");
	}

	@Test
	void twoInstancesRacingForContractRunItExactlyOnce() throws Exception {
		DataSource poolA = postgres.newDataSource("race-a", 6);
		DataSource poolB = postgres.newDataSource("race-b", 6);
		new ZdmSchema(postgres.dataSource()).migrate();
		for (int round = 1; round <= 5; round++) {
			String table = "race_" + round;
			postgres.jdbc().execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, old text, new text)");
			MigrationDefinition migration = migration("race-" + round, "public." + table,
					"ALTER TABLE " + table + " ADD COLUMN IF NOT EXISTS new text;",
					"INSERT INTO contract_runs VALUES ('race-" + round + "', current_setting('application_name'));\n"
							+ "ALTER TABLE " + table + " DROP COLUMN old;");
			new MigrationStateRepository(postgres.dataSource()).register(migration.id());
			InstanceInfo a = new InstanceInfo("race-a", null, "localhost", 1);
			InstanceInfo b = new InstanceInfo("race-b", null, "localhost", 2);
			FleetRegistry registry = new FleetRegistry(postgres.dataSource());
			registry.heartbeat(a, migration.id(), Phase.CONTRACT, Phase.CONTRACT, null);
			registry.heartbeat(b, migration.id(), Phase.CONTRACT, Phase.CONTRACT, null);
			DdlRunners runnerA = DdlRunners.create(poolA, this.settings, a, Duration.ofSeconds(30), List.of());
			DdlRunners runnerB = DdlRunners.create(poolB, this.settings, b, Duration.ofSeconds(30), List.of());
			CyclicBarrier barrier = new CyclicBarrier(2);
			CompletableFuture<Boolean> ranOnA = CompletableFuture.supplyAsync(() -> {
				awaitBarrier(barrier);
				return runnerA.contract().contract(migration);
			});
			CompletableFuture<Boolean> ranOnB = CompletableFuture.supplyAsync(() -> {
				awaitBarrier(barrier);
				return runnerB.contract().contract(migration);
			});
			assertThat(List.of(ranOnA.get(30, TimeUnit.SECONDS), ranOnB.get(30, TimeUnit.SECONDS)))
				.containsOnlyOnce(true);
			assertThat(postgres.jdbc()
				.queryForList("SELECT application_name FROM contract_runs WHERE migration_id = ?", String.class,
						migration.id()))
				.containsExactly(ranOnA.get() ? "race-a" : "race-b");
			assertThat(new MigrationStateRepository(postgres.dataSource()).find(migration.id()).contractedBy())
				.isEqualTo(ranOnA.get() ? "race-a" : "race-b");
			assertThat(runnerA.contract().contract(migration)).isFalse();
			assertThat(runnerB.contract().contract(migration)).isFalse();
			runnerA.destroy();
			runnerB.destroy();
		}
	}

	@Test
	void runnerWhoseSessionIsLostLeavesTheContractToTheInstanceThatTookItOverAndRecordsNothing() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE lost (id bigint PRIMARY KEY, old text, new text)");
		new ZdmSchema(postgres.dataSource()).migrate();
		MigrationDefinition migration = migration("lost-old", "public.lost",
				"ALTER TABLE lost ADD COLUMN IF NOT EXISTS new text;", "ALTER TABLE lost DROP COLUMN old;");
		SyncTriggerContributor trigger = new SyncTriggerContributor("lost_sync", "new", "old");
		trigger.expandStatements(migration).forEach(jdbc::execute);
		new MigrationStateRepository(postgres.dataSource()).register(migration.id());
		InstanceInfo a = new InstanceInfo("lost-a", null, "localhost", 1);
		InstanceInfo b = new InstanceInfo("lost-b", null, "localhost", 2);
		FleetRegistry registry = new FleetRegistry(postgres.dataSource());
		registry.heartbeat(a, migration.id(), Phase.CONTRACT, Phase.CONTRACT, null);
		registry.heartbeat(b, migration.id(), Phase.CONTRACT, Phase.CONTRACT, null);
		// a's statements wait 6 s between attempts, b's take over in well under that
		DdlRunners runnerA = DdlRunners.create(postgres.newDataSource("lost-a", 4),
				this.settings.withBackoff(Duration.ofSeconds(6), Duration.ofSeconds(6)).withJitter(0),
				ExpandSettings.defaults(), a, Duration.ofSeconds(30), List.of(trigger));
		DdlRunners runnerB = DdlRunners.create(postgres.newDataSource("lost-b", 4), this.settings,
				ExpandSettings.defaults(), b, Duration.ofSeconds(30), List.of(trigger));
		DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource());
		CompletableFuture<Boolean> ranOnA;
		try (Connection reader = postgres.database().newConnection()) {
			// a reader's lock keeps a's first statement, DROP TRIGGER, retrying
			reader.setAutoCommit(false);
			reader.createStatement().execute("LOCK TABLE lost IN ACCESS SHARE MODE");
			ranOnA = CompletableFuture.supplyAsync(() -> runnerA.contract().contract(migration));
			await().atMost(Duration.ofSeconds(20)).until(() -> lockTimeouts(history, migration.id()) > 0);
			// a's sessions are lost, as in a database restart: its DDL lock goes with
			// them
			jdbc.queryForList("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?",
					"lost-a");
			await().atMost(Duration.ofSeconds(10))
				.until(() -> jdbc.queryForObject("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?",
						Integer.class, "lost-a") == 0);
			reader.rollback();
		}
		// b resumes the contract a claimed, and finishes it while a waits to retry
		assertThat(runnerB.contract().contract(migration)).isTrue();
		assertThat(columns("lost")).doesNotContain("old");
		// a's retry finds its session gone: it records nothing over b's work
		assertThat(ranOnA.get(30, TimeUnit.SECONDS)).isFalse();
		DdlStatus status = history.status(migration.id(), 5);
		assertThat(status.steps()).filteredOn((step) -> step.step() == DdlStep.CONTRACT)
			.singleElement()
			.satisfies((step) -> {
				assertThat(step.state()).isEqualTo("done");
				assertThat(step.instanceId()).isEqualTo("lost-b");
			});
		assertThat(status.statements()).filteredOn((statement) -> statement.step() == DdlStep.CONTRACT)
			.extracting(DdlStatus.Statement::state)
			.containsOnly("applied")
			.hasSize(3);
		// nor does it run the contract again
		assertThat(runnerA.contract().contract(migration)).isFalse();
		assertThat(history.status(migration.id(), 5).statements())
			.filteredOn((statement) -> statement.step() == DdlStep.CONTRACT)
			.extracting(DdlStatus.Statement::state)
			.containsOnly("applied");
		runnerA.destroy();
		runnerB.destroy();
	}

	private static int lockTimeouts(DdlHistoryRepository history, String migrationId) {
		return history.status(migrationId, 5).statements().stream().mapToInt(DdlStatus.Statement::lockTimeouts).sum();
	}

	@Test
	void twoInstancesStartedTogetherAtContractRunItOnce() throws Exception {
		postgres.jdbc().execute("CREATE TABLE pairs (id bigint PRIMARY KEY, old text)");
		MigrationDefinition migration = migration("pairs-old", "pairs", "ALTER TABLE pairs ADD COLUMN new text;",
				"INSERT INTO contract_runs VALUES ('pairs-old', current_setting('application_name'));\n"
						+ "ALTER TABLE pairs DROP COLUMN old;");
		CompletableFuture<PhaseController> a = CompletableFuture
			.supplyAsync(() -> start(migration, Phase.CONTRACT, "together-a", null));
		CompletableFuture<PhaseController> b = CompletableFuture
			.supplyAsync(() -> start(migration, Phase.CONTRACT, "together-b", null));
		a.get(30, TimeUnit.SECONDS);
		b.get(30, TimeUnit.SECONDS);
		await().atMost(Duration.ofSeconds(20))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(migration.id(), DdlStep.CONTRACT));
		// each heartbeat of either instance gives it its chance to run the contract again
		this.heartbeats.get("together-a").awaitHeartbeats(5);
		this.heartbeats.get("together-b").awaitHeartbeats(5);
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM contract_runs WHERE migration_id = 'pairs-old'", Integer.class))
			.isOne();
		assertThat(columns("pairs")).doesNotContain("old");
	}

	@Test
	void aMigrationWithTheLongestIdRunsItsExpandAndContractScripts() throws Exception {
		// 63 characters, the most an id may have: Flyway's history table of each step is
		// named after it, and Flyway names its key and index after the table; a name over
		// 57 characters had PostgreSQL cut both to one, and the contract failed after its
		// claim, the column already dropped
		String id = "long-0123456789-0123456789-0123456789-0123456789-0123456789-abc";
		assertThat(id).hasSize(63);
		postgres.jdbc().execute("CREATE TABLE longest (id bigint PRIMARY KEY, old text)");
		MigrationDefinition migration = migration(id, "longest", "ALTER TABLE longest ADD COLUMN new text;",
				"ALTER TABLE longest DROP COLUMN old;");
		start(migration, Phase.CONTRACT, "longest-a", null);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(id, DdlStep.CONTRACT));
		assertThat(columns("longest")).containsExactly("id", "new");
		assertThat(postgres.jdbc()
			.queryForList("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE 'zdm_ddl_%_long-%'",
					String.class))
			.hasSize(2)
			.allSatisfy((table) -> assertThat(table.length()).isLessThanOrEqualTo(57));
	}

	@Test
	void instanceRequestingAnEarlierPhaseIsRefusedWhenTheContractIsClaimedWhileItStarts() {
		postgres.jdbc().execute("CREATE TABLE joiners (id bigint PRIMARY KEY, old text)");
		MigrationDefinition migration = MigrationDefinition.builder("joiners-old")
			.table("joiners")
			.requestedPhase(Phase.READ_NEW)
			.build();
		MigrationParticipant claimedMeanwhile = new MigrationParticipant() {

			@Override
			public void beforeJoin(MigrationDefinition resolved, dev.zdm.internal.fleet.MigrationState state) {
				new MigrationStateRepository(postgres.dataSource()).markContracted(resolved.id(), "another-instance");
			}

		};
		PhaseController controller = TestEngine.phaseController(postgres.dataSource(), List.of(migration),
				new InstanceInfo("late-joiner", null, "localhost", 1), TestFleet.SETTINGS, List.of(claimedMeanwhile));
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(controller::start)
			.withMessageContaining("requests phase read-new, but its contract DDL already ran");
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM zdm_instance WHERE instance_id = 'late-joiner'", Integer.class))
			.as("a refused instance leaves no row in the fleet")
			.isZero();
	}

	private PhaseController start(MigrationDefinition migration, Phase requested, String instanceId,
			SchemaChangeContributor contributor) {
		return start(migration, requested, instanceId, contributor, TestFleet.SETTINGS);
	}

	private PhaseController start(MigrationDefinition migration, Phase requested, String instanceId,
			SchemaChangeContributor contributor, FleetSettings fleet) {
		return start(migration, requested, instanceId, contributor, fleet, ContractPrecondition.NONE);
	}

	private PhaseController start(MigrationDefinition migration, Phase requested, String instanceId,
			SchemaChangeContributor contributor, FleetSettings fleet, ContractPrecondition precondition) {
		DataSource pool = postgres.newDataSource(instanceId, 8);
		InstanceInfo instance = new InstanceInfo(instanceId, null, "localhost", 1);
		DdlRunners runner = DdlRunners.create(pool, this.settings, ExpandSettings.defaults(), instance, fleet.timeout(),
				(contributor != null) ? List.of(contributor) : List.of(), precondition);
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		this.heartbeats.put(instanceId, heartbeats);
		PhaseController controller = TestEngine.phaseController(pool,
				List.of(migration.toBuilder().requestedPhase(requested).build()), instance, fleet,
				Stream.concat(runner.participants().stream(), Stream.of(heartbeats)).toList());
		controller.start();
		synchronized (this.controllers) {
			this.controllers.add(controller);
		}
		// The expand runs in the background; these tests start from an expanded schema.
		await().atMost(Duration.ofSeconds(20)).until(() -> runner.expand().limit(migration) == null);
		return controller;
	}

	private MigrationDefinition migration(String id, String table, String expand, String contract) {
		String expandLocation = DdlTestScripts.write(this.scripts.resolve(id).resolve("expand"), "V1__expand.sql",
				expand);
		String contractLocation = DdlTestScripts.write(this.scripts.resolve(id).resolve("contract"), "V1__contract.sql",
				contract);
		return MigrationDefinition.builder(id)
			.table(table)
			.expandLocations(List.of(expandLocation))
			.contractLocations(List.of(contractLocation))
			.build();
	}

	private static List<String> columns(String table) {
		return postgres.jdbc()
			.queryForList("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 "
					+ "AND NOT attisdropped", String.class, table);
	}

	private static List<String> triggers(String table) {
		return postgres.jdbc()
			.queryForList("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(?) AND NOT tgisinternal",
					String.class, table);
	}

	private static void awaitBarrier(CyclicBarrier barrier) {
		try {
			barrier.await(10, TimeUnit.SECONDS);
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Installs a trigger that keeps the new column in sync with the expand step, and
	 * removes it with the contract step, as the dual-write concern does for a same-table
	 * migration.
	 */
	static final class SyncTriggerContributor implements SchemaChangeContributor {

		private final String name;

		private final String target;

		private final String source;

		SyncTriggerContributor() {
			this("people_sync", "full_name", "name");
		}

		/**
		 * A trigger that sets one column from another.
		 * @param name the trigger's name, and its function's
		 * @param target the column it sets
		 * @param source the column it reads
		 */
		SyncTriggerContributor(String name, String target, String source) {
			this.name = name;
			this.target = target;
			this.source = source;
		}

		@Override
		public List<String> expandStatements(MigrationDefinition migration) {
			return List.of(
					"CREATE OR REPLACE FUNCTION " + this.name + "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
							+ "BEGIN\n  NEW." + this.target + " := NEW." + this.source + ";\n  RETURN NEW;\nEND $$",
					"CREATE OR REPLACE TRIGGER " + this.name + " BEFORE INSERT OR UPDATE ON "
							+ migration.table().quoted() + " FOR EACH ROW EXECUTE FUNCTION " + this.name + "()");
		}

		@Override
		public List<String> contractStatements(MigrationDefinition migration) {
			return List.of("DROP TRIGGER IF EXISTS " + this.name + " ON " + migration.table().quoted(),
					"DROP FUNCTION IF EXISTS " + this.name + "()");
		}

	}

	/**
	 * Another instance's heartbeats at {@code contract}, every 500 ms, until closed: a
	 * live member of the fleet this test's controller sees.
	 */
	private static final class Heartbeating implements AutoCloseable {

		private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();

		Heartbeating(FleetRegistry registry, InstanceInfo instance, String migrationId) {
			this.executor.scheduleAtFixedRate(
					() -> registry.heartbeat(instance, migrationId, Phase.CONTRACT, Phase.CONTRACT, null), 0, 500,
					TimeUnit.MILLISECONDS);
		}

		@Override
		public void close() throws InterruptedException {
			this.executor.shutdownNow();
			this.executor.awaitTermination(5, TimeUnit.SECONDS);
		}

	}

}
