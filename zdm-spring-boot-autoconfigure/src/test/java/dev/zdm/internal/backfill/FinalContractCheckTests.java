package dev.zdm.internal.backfill;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.actuate.endpoint.MigrationDescriptor;
import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the final check before the contract DDL against a real PostgreSQL: a writer
 * outside the application that writes the old side with every live instance at
 * {@code contract} holds the contract back, with the reason, the keys and the writer in
 * the endpoint; once it stops and its rows are applied, a re-check lets the contract run,
 * and nothing the application or the outside writer wrote is lost or left orphaned.
 */
class FinalContractCheckTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final long OUTSIDE_KEYS = 5_000_000;

	@TempDir
	Path scripts;

	private final List<PhaseController> controllers = new ArrayList<>();

	private final List<DdlRunners> runners = new ArrayList<>();

	private final JdbcTemplate jdbc = postgres.jdbc();

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
		this.runners.forEach(DdlRunners::destroy);
	}

	@Test
	void contractIsHeldBackWhileAnOutsideWriterWritesTheOldSideAndRunsOnceItStopsAndARecheckIsClean() throws Exception {
		LiveWorkload.create(postgres, "held", true, 3_000);
		// rows of the outside writer's own keys, copied by the backfill like any other
		this.jdbc.update("INSERT INTO held (id, street, city) SELECT ?::bigint + i, 'outside ' || i, 'city' "
				+ "FROM generate_series(0, 199) AS i", OUTSIDE_KEYS);
		// The contract keeps the new side and drops the old: this one records both as the
		// contract sees them, in one statement, so that what it would lose can be
		// counted.
		MigrationDefinition migration = migration("held",
				"CREATE TABLE held_at_contract AS SELECT o.id, o.street, "
						+ "o.city, a.order_id, a.street AS new_street, a.city AS new_city FROM held AS o "
						+ "FULL JOIN held_addresses AS a ON a.order_id = o.id;");
		Started a = start("held-a", migration, Phase.CONTRACT);
		Started b = start("held-b", migration, Phase.READ_NEW);
		LiveWorkload workload = new LiveWorkload(postgres, "held", true, 3_000,
				() -> a.controller().status("held").effective(), 200);
		workload.start(2);
		await().atMost(Duration.ofSeconds(60)).until(() -> a.controller().status("held").effective() == Phase.CONTRACT);
		OutsideWriter outside = new OutsideWriter();
		outside.start();
		await().atMost(Duration.ofSeconds(20)).until(() -> outside.writes.get() >= 50);
		// the last instance at read-new leaves: every live instance runs contract
		b.controller().stop();
		ZdmEndpoint endpoint = endpoint(a);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> contract(endpoint).contractCheck() != null && contract(endpoint).contractCheck().held());
		ContractCheck held = contract(endpoint).contractCheck();
		// it tells the two cases apart: apply-old keeps an old-side writer's writes and
		// overwrites a new-side writer's, which override keeps
		assertThat(held.reason()).contains("contract held back", "outside the application", "Find it in writers",
				"If it wrote the old side", "/contract/apply-old",
				"held_addresses, which the application has read since read-new", "apply-old would overwrite them",
				"/contract/override");
		assertThat(held.rowsDisagreeing()).isPositive();
		assertThat(held.rows()).isNotEmpty().allMatch((row) -> row.matches("key \\d+: (missing|extra|different)"));
		assertThat(held.writers()).anyMatch((writer) -> writer.contains("application 'outside-writer'"));
		assertThat(held.writers()).noneMatch((writer) -> writer.contains("'outside "));
		// the gauge's view, taken at a heartbeat: one that read the table just before the
		// check stored its result clears it until the next
		await().atMost(Duration.ofSeconds(10)).until(() -> a.check().held("held") != null);
		// held while the writer goes on: the contract does not run, whatever the
		// heartbeats
		a.heartbeats().awaitHeartbeats(20);
		assertThat(new MigrationStateRepository(postgres.dataSource()).find("held").isContracted()).isFalse();
		assertThat(tableExists("held_at_contract")).isFalse();
		// an operator action with no reason where one is needed is refused and changes
		// nothing
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> endpoint.ddl("held", "contract", "override", null, SecurityContext.NONE))
			.withMessageContaining("needs a reason");
		assertThatExceptionOfType(InvalidEndpointRequestException.class)
			.isThrownBy(() -> endpoint.ddl("held", "contract", "apply-old", " ", SecurityContext.NONE))
			.withMessageContaining("needs a reason");
		assertThat(contract(endpoint).actions()).isEmpty();
		outside.stop();
		endpoint.ddl("held", "contract", "apply-old", "the billing job wrote them; it is stopped",
				SecurityContext.NONE);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone("held", DdlStep.CONTRACT));
		workload.stopAndAssertNoWriteLost();
		// nothing the contract dropped was missing from the new side, and no orphan
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM held_at_contract WHERE id IS NULL "
						+ "OR order_id IS NULL OR ROW(new_street, new_city) IS DISTINCT FROM ROW(street, upper(city))",
				Long.class))
			.isZero();
		for (Map.Entry<Long, String> write : outside.written.entrySet()) {
			List<String> kept = this.jdbc.queryForList("SELECT new_street FROM held_at_contract WHERE order_id = ?",
					String.class, write.getKey());
			assertThat(kept).as("key " + write.getKey())
				.isEqualTo(write.getValue().isEmpty() ? List.of() : List.of(write.getValue()));
		}
		MigrationDescriptor after = contract(endpoint);
		assertThat(after.contractCheck().held()).isFalse();
		assertThat(after.actions()).singleElement().satisfies((action) -> {
			assertThat(action.action()).isEqualTo("contract.apply-old");
			assertThat(action.principal()).isEqualTo("anonymous");
			assertThat(action.instanceId()).isEqualTo("held-a");
			assertThat(action.reason()).isEqualTo("the billing job wrote them; it is stopped");
		});
	}

	@Test
	void overrideWithAReasonLetsTheContractRunOverAHeldCheck() throws Exception {
		LiveWorkload.create(postgres, "over", true, 500);
		MigrationDefinition migration = migration("over", "CREATE TABLE over_contracted (id int);");
		Started a = start("over-a", migration, Phase.CONTRACT);
		Started b = start("over-b", migration, Phase.READ_NEW);
		await().atMost(Duration.ofSeconds(60)).until(() -> a.controller().status("over").effective() == Phase.CONTRACT);
		// an outside run: while a live instance was at read-new, nothing said the
		// contract waited for it
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(a.runner().contract().stepHeldBack("over")).isEqualTo(
					"the contract waits for every live instance to run contract: instance over-b runs read-new"));
		// a writer that is gone when the check runs: its own session, closed, and none of
		// the test's pooled sessions left with a write to the table as its last statement
		try (Connection outside = postgres.database().newConnection();
				Statement statement = outside.createStatement()) {
			statement.executeUpdate("UPDATE over SET street = 'changed behind the application' WHERE id <= 20");
		}
		postgres.dataSource().getHikariPoolMXBean().softEvictConnections();
		b.controller().stop();
		ZdmEndpoint endpoint = endpoint(a);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> contract(endpoint).contractCheck() != null && contract(endpoint).contractCheck().held());
		assertThat(contract(endpoint).contractCheck().rowsDisagreeing()).isEqualTo(10);
		assertThat(contract(endpoint).contractCheck().writers()).isEmpty();
		assertThat(contract(endpoint).contractCheck().reason())
			.contains("No session was writing the tables at the moment of the check: a writer has finished, or it "
					+ "connects for each write and was between two")
			// not only a writer: rows that never passed the dual-write (a new user's
			// partition attached at read-new read as a writer to hunt for)
			.contains("or a partition of a partitioned table attached since the verification")
			// a migration into another table has no sync trigger to blame
			.doesNotContain("sync trigger")
			.contains("nothing syncs such a writer's rows: sync: repositories");
		a.heartbeats().awaitHeartbeats(10);
		assertThat(tableExists("over_contracted")).isFalse();
		// apply-old locks the rows of each batch: a transaction that holds another row of
		// the table past its tries stops it, with what stopped it, and nothing is changed
		// or recorded
		try (Connection locker = postgres.database().newConnection()) {
			locker.setAutoCommit(false);
			try (Statement statement = locker.createStatement()) {
				assertThat(statement.executeUpdate("UPDATE over SET city = city WHERE id = 400")).isOne();
			}
			assertThatExceptionOfType(InvalidEndpointRequestException.class)
				.isThrownBy(() -> endpoint.ddl("over", "contract", "apply-old", "the billing job wrote them",
						SecurityContext.NONE))
				.withMessageStartingWith(
						"Applying the old side of migration 'over' to the new side stopped at the first keys")
				.withMessageContaining("lock timeout")
				.withMessageContaining("; likely held by [pid ")
				.withMessageContaining("0 rows were set from the old side before it and stay set; the contract stays "
						+ "held. Try again once that transaction has ended");
			locker.rollback();
		}
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM over_addresses WHERE street = 'changed behind the application'", Integer.class))
			.isZero();
		assertThat(contract(endpoint).actions()).isEmpty();
		assertThat(contract(endpoint).contractCheck().held()).isTrue();
		SecurityContext alice = new SecurityContext() {

			@Override
			public java.security.Principal getPrincipal() {
				return () -> "alice";
			}

			@Override
			public boolean isUserInRole(String role) {
				return false;
			}

		};
		ContractCheck answered = (ContractCheck) endpoint.ddl("over", "contract", "override",
				"rows 2 to 20 are test data", alice);
		assertThat(answered.held()).as("overridden: it no longer holds the contract back").isFalse();
		assertThat(answered.reason()).as("nor says how to release it").isNull();
		assertThat(answered.rowsDisagreeing()).as("what it found is kept").isEqualTo(10);
		await().atMost(Duration.ofSeconds(30)).until(() -> tableExists("over_contracted"));
		assertThat(contract(endpoint).actions()).singleElement().satisfies((action) -> {
			assertThat(action.action()).isEqualTo("contract.override");
			assertThat(action.principal()).isEqualTo("alice");
			assertThat(action.reason()).isEqualTo("rows 2 to 20 are test data");
		});
		assertThat(contract(endpoint).contractCheck().overrideReason()).isEqualTo("rows 2 to 20 are test data");
		assertThat(contract(endpoint).contractCheck().held()).isFalse();
		assertThat(contract(endpoint).contractCheck().reason()).isNull();
		assertThat(contract(endpoint).contractCheck().rowsDisagreeing()).isEqualTo(10);
	}

	@Test
	void sameTableRowsAgreeThroughUpOrDownAndApplyingTheOldSideRewritesOnlyThoseThatDisagree() {
		this.jdbc.execute("CREATE TABLE people (id bigint PRIMARY KEY, email text, email_address text)");
		new ZdmSchema(postgres.dataSource()).migrate();
		this.jdbc.execute("INSERT INTO zdm_migration (migration_id) VALUES ('people-email')");
		// 1: new = up(old); 2: written on the new side, old = down(new), which up does
		// not give back; 3 and 4: written behind the trigger's back
		this.jdbc.update("INSERT INTO people VALUES (1, 'A@x', 'a@x'), (2, 'B@X', 'B@X'), (3, 'c@x', 'other'), "
				+ "(4, 'D@x', NULL)");
		MigrationDefinition migration = MigrationDefinition.builder("people-email")
			.table("people")
			.key("id")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.build();
		FinalContractCheck check = TestEngine.finalContractCheck(postgres.dataSource(), "people-a");
		assertThat(check.holdBack(migration)).contains("2 of 4 keys disagreeing");
		ContractCheck held = check.repository().find("people-email");
		assertThat(held.rows()).containsExactly("key 3: different", "key 4: different");
		assertThat(check.holdBack(migration)).as("held until a re-check").isEqualTo(held.reason());
		long changed = check.applyOld(migration,
				new OperatorAction("contract.apply-old", "anonymous", "people-a", "test", java.time.Instant.now()));
		assertThat(changed).isEqualTo(2);
		assertThat(this.jdbc.queryForList("SELECT email_address FROM people ORDER BY id", String.class))
			.containsExactly("a@x", "B@X", "c@x", "d@x");
		assertThat(check.holdBack(migration)).isNull();
		assertThat(check.repository().find("people-email").held()).isFalse();
	}

	// an outside run: a type change whose up took what it could not convert mapped 595
	// amounts such as '12,50' and 'n/a' to NULL; every check said old and new agreed, and
	// the contract dropped them with the old column
	@Test
	void valuesUpMapsToNullHoldTheContractUntilMendedOrOverridden() throws Exception {
		this.jdbc.execute("CREATE TABLE priced (id bigint PRIMARY KEY, amount text, note text, "
				+ "amount_num numeric(12,2), remark text, label text)");
		new ZdmSchema(postgres.dataSource()).migrate();
		this.jdbc.execute("INSERT INTO zdm_migration (migration_id) VALUES ('priced-amount')");
		String amountUp = "CASE WHEN amount ~ '^[0-9]+([.][0-9]+)?$' THEN amount::numeric(12,2) END";
		String labelUp = "CASE WHEN amount ~ '^[0-9]' THEN NULL ELSE amount END";
		// 1 converts (label NULL, but down gives it back); 2's amount goes to NULL in
		// both
		// columns that read it; 3's goes to NULL in one and stays in label, down gives it
		// back, but its note goes, no down declared for it; 4 holds nothing; 5's note is
		// empty, which remark keeps; the new side agrees with up on every row
		this.jdbc.update("INSERT INTO priced (id, amount, note) VALUES (1, '12.50', 'a'), (2, '12,50', 'b'), "
				+ "(3, 'n/a', '-'), (4, NULL, NULL), (5, 'x', '')");
		this.jdbc
			.update("UPDATE priced SET amount_num = " + amountUp + ", remark = nullif(note, '-'), label = " + labelUp);
		MigrationDefinition migration = MigrationDefinition.builder("priced-amount")
			.table("priced")
			.key("id")
			.up("amount_num", amountUp)
			.up("remark", "nullif(note, '-')")
			.up("label", labelUp)
			.down("amount", "coalesce(amount_num::text, label)")
			.build();
		FinalContractCheck check = TestEngine.finalContractCheck(postgres.dataSource(), "priced-a");
		String reason = check.holdBack(migration);
		assertThat(reason)
			.startsWith("contract held back: the final check found 2 of 5 rows of priced with a value in an old "
					+ "column that an up reading it maps to NULL, and that no down gives back (keys in rows), which "
					+ "only the old columns keep: the contract drops them with those columns.")
			.contains("POST /actuator/zdm/priced-amount/contract/override")
			.contains("POST /actuator/zdm/priced-amount/contract/recheck")
			.doesNotContain("disagreeing between");
		ContractCheck held = check.repository().find("priced-amount");
		assertThat(held.held()).isTrue();
		assertThat(held.rowsDisagreeing()).isZero();
		assertThat(held.rows()).containsExactly("key 2: up maps the value of amount to NULL",
				"key 3: up maps the value of note to NULL");
		// the query the reason gives selects exactly those rows, to keep them
		String keep = reason.substring(reason.indexOf("AS SELECT * FROM ") + "AS SELECT * FROM ".length(),
				reason.indexOf(") or mend the rows"));
		assertThat(this.jdbc.queryForList("SELECT id FROM " + keep + " ORDER BY id", Long.class)).containsExactly(2L,
				3L);
		assertThat(check.holdBack(migration)).as("held until a re-check").isEqualTo(reason);
		// a row mended so that up converts it (the sync trigger would follow)
		this.jdbc.update("UPDATE priced SET amount = '12.50', amount_num = 12.50 WHERE id = 2");
		check.recheck("priced-amount",
				new OperatorAction("contract.recheck", "anonymous", "priced-a", null, java.time.Instant.now()));
		assertThat(check.holdBack(migration)).contains("found 1 of 5 rows");
		check.override("priced-amount", new OperatorAction("contract.override", "anonymous", "priced-a",
				"row 3's note is a placeholder", java.time.Instant.now()));
		assertThat(check.holdBack(migration)).isNull();
		// as the contract asks it, knowing its scripts: only the old columns they drop
		// count, a column the contract keeps keeps its values
		this.jdbc.execute("DELETE FROM zdm_contract_check WHERE migration_id = 'priced-amount'");
		this.jdbc.update("UPDATE priced SET amount = '12,50', amount_num = NULL WHERE id = 2");
		assertThat(check.holdBack(migration, contract("ALTER TABLE priced DROP COLUMN amount;")))
			.contains("found 1 of 5 rows");
		assertThat(check.repository().find("priced-amount").rows())
			.containsExactly("key 2: up maps the value of amount to NULL");
		this.jdbc.execute("DELETE FROM zdm_contract_check WHERE migration_id = 'priced-amount'");
		assertThat(check.holdBack(migration, contract("ALTER TABLE priced DROP COLUMN remark;"))).isNull();
	}

	private List<DdlScript> contract(String sql) throws java.io.IOException {
		Path folder = java.nio.file.Files.createTempDirectory(this.scripts, "contract");
		return new DdlScriptLoader(new DefaultResourceLoader()).load("priced-amount", DdlStep.CONTRACT,
				List.of(DdlTestScripts.write(folder, "V1__contract.sql", sql)));
	}

	private MigrationDescriptor contract(ZdmEndpoint endpoint) {
		return endpoint.migrations().migrations().values().iterator().next();
	}

	private ZdmEndpoint endpoint(Started started) {
		DataSource dataSource = started.dataSource();
		return new ZdmEndpoint(started.controller(), new LockFiguresSampler(new LockInspector(dataSource)),
				new JdbcBackfillService(dataSource), new DdlHistoryRepository(dataSource), started.runner().expand(),
				started.check(), null, null, null, new OperatorActionRepository(dataSource), null, null);
	}

	@Test
	void crossTableContractGuardsTheOldColumnsFromTheClaimUntilTheScriptsDropThem() throws Exception {
		LiveWorkload.create(postgres, "guarded", true, 2_000);
		// an old column with a default: the application's inserts fill it without
		// writing it, and must go through
		this.jdbc.execute("ALTER TABLE guarded ALTER COLUMN street SET DEFAULT 'unknown'");
		MigrationDefinition migration = migration("guarded",
				"ALTER TABLE guarded DROP COLUMN street, DROP COLUMN city;");
		// a session holds the table from the start: the contract's DROP waits and
		// retries after the claim, while the guard, which takes no lock that conflicts
		// with it, is in place
		Connection holder = postgres.database().newConnection();
		holder.setAutoCommit(false);
		try (Statement statement = holder.createStatement()) {
			statement.execute("LOCK TABLE guarded IN ACCESS SHARE MODE");
		}
		start("guarded-a", migration, Phase.CONTRACT);
		await().atMost(Duration.ofSeconds(60))
			.until(() -> this.jdbc.queryForObject("SELECT count(*) FROM pg_trigger WHERE tgname = 'zdm_guard_guarded'",
					Long.class) == 1);
		assertThat(new MigrationStateRepository(postgres.dataSource()).find("guarded").isContracted()).isTrue();
		// the application writes the new side only from the claim on: its writes go on
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicLong written = new AtomicLong();
		AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
		Thread application = new Thread(() -> {
			long id = 10_000_001;
			while (writing.get()) {
				try {
					this.jdbc.update("INSERT INTO guarded (id) VALUES (?)", id);
					this.jdbc.update("INSERT INTO guarded_addresses (order_id, street, city) VALUES (?, 'new', 'NEW')",
							id);
					this.jdbc.update("UPDATE guarded_addresses SET street = 'newer' WHERE order_id = ?", id - 1);
					written.incrementAndGet();
					id++;
				}
				catch (RuntimeException ex) {
					failure.compareAndSet(null, ex);
					return;
				}
			}
		}, "application");
		application.start();
		await().atMost(Duration.ofSeconds(10)).until(() -> written.get() >= 20);
		// a writer outside the application changing an old column is refused, where its
		// write would be dropped with the column after a final check that passed
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> this.jdbc.update("UPDATE guarded SET street = 'late' WHERE id = 2"))
			.satisfies((ex) -> assertThat(ex.getMostSpecificCause().getMessage())
				.contains("zdm: migration guarded is contracting: column street of guarded is being dropped")
				.contains("write guarded_addresses instead"));
		// so is an insert of the old shape: a row with an old column set and no target
		// row, whose values the scripts would drop with the column
		assertThatExceptionOfType(DataAccessException.class)
			.isThrownBy(() -> this.jdbc.update("INSERT INTO guarded (id, city) VALUES (9000001, 'late')"))
			.satisfies((ex) -> assertThat(ex.getMostSpecificCause().getMessage())
				.contains("zdm: migration guarded is contracting: column city of guarded is being dropped"));
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM guarded WHERE id = 9000001", Long.class)).isZero();
		// an update that leaves them alone goes through
		assertThat(this.jdbc.update("UPDATE guarded SET street = street WHERE id = 4")).isEqualTo(1);
		// and so does a transaction marked as writing the new side too, as a routing bean
		// without savepoints marks its own when it reads the state before the claim
		new TransactionTemplate(new DataSourceTransactionManager(this.jdbc.getDataSource()))
			.executeWithoutResult((status) -> {
				new MigrationStateRepository(this.jdbc.getDataSource()).isContractedMarkingDualWrite("guarded");
				assertThat(this.jdbc.update("UPDATE guarded SET street = 'both sides' WHERE id = 6")).isEqualTo(1);
			});
		// and an insert that leaves them null, as the application's new side does (above)
		assertThat(this.jdbc.update("INSERT INTO guarded (id, street, city) VALUES (9000003, NULL, NULL)"))
			.isEqualTo(1);
		holder.rollback();
		holder.close();
		await().atMost(Duration.ofSeconds(30))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone("guarded", DdlStep.CONTRACT));
		long before = written.get();
		await().atMost(Duration.ofSeconds(10)).until(() -> written.get() >= before + 20);
		writing.set(false);
		application.join();
		assertThat(failure.get()).isNull();
		// dropped with the scripts' work done
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM pg_trigger WHERE tgname = 'zdm_guard_guarded'",
				Long.class))
			.isZero();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM pg_proc WHERE proname = 'zdm_guard_guarded'",
				Long.class))
			.isZero();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM information_schema.columns "
				+ "WHERE table_name = 'guarded' AND column_name IN ('street', 'city')", Long.class))
			.isZero();
	}

	@Test
	void aCrossTableContractDropsTheNotNullOfTheColumnsItDropsBeforeItIsClaimed() throws Exception {
		LiveWorkload.create(postgres, "strict", true, 2_000);
		this.jdbc.execute("ALTER TABLE strict ALTER COLUMN street SET NOT NULL");
		MigrationDefinition migration = migration("strict", "ALTER TABLE strict DROP COLUMN street, DROP COLUMN city;");
		// a reader holds the table: the relax, which needs its lock, waits and retries
		Connection holder = postgres.database().newConnection();
		holder.setAutoCommit(false);
		try (Statement statement = holder.createStatement()) {
			statement.execute("LOCK TABLE strict IN ACCESS SHARE MODE");
		}
		// the application inserts through the whole window: the old shape with the new
		// side until the contract is claimed, the new shape alone from then on, its state
		// read in each transaction as a routing bean without savepoints reads it
		TransactionTemplate transactions = new TransactionTemplate(
				new DataSourceTransactionManager(this.jdbc.getDataSource()));
		MigrationStateRepository states = new MigrationStateRepository(this.jdbc.getDataSource());
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicLong written = new AtomicLong();
		AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
		Thread application = new Thread(() -> {
			long id = 20_000_001;
			while (writing.get()) {
				long next = id;
				try {
					transactions.executeWithoutResult((status) -> {
						if (states.isContractedMarkingDualWrite("strict")) {
							this.jdbc.update("INSERT INTO strict (id) VALUES (?)", next);
						}
						else {
							this.jdbc.update("INSERT INTO strict (id, street, city) VALUES (?, 'new', 'new')", next);
						}
						this.jdbc.update(
								"INSERT INTO strict_addresses (order_id, street, city) VALUES (?, 'new', 'NEW')", next);
					});
					written.incrementAndGet();
					id++;
					Thread.sleep(5);
				}
				catch (RuntimeException ex) {
					failure.compareAndSet(null, ex);
					return;
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					return;
				}
			}
		}, "application");
		application.start();
		await().atMost(Duration.ofSeconds(10)).until(() -> written.get() >= 20);
		Started strict = start("strict-a", migration, Phase.CONTRACT);
		DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource());
		await().atMost(Duration.ofSeconds(60))
			.until(() -> this.jdbc.queryForObject("SELECT count(*) FROM zdm_ddl_lock_timeout "
					+ "WHERE migration_id = 'strict' AND source = 'zdm:relax-before-claim'", Long.class) >= 2);
		// meanwhile the contract is not claimed: the fleet writes both sides, the old
		// column filled, and a new-shape insert is not yet made
		assertThat(new MigrationStateRepository(postgres.dataSource()).find("strict").isContracted()).isFalse();
		// and the endpoint says why the contract waits
		assertThat(strict.runner().contract().stepHeldBack("strict")).contains("the NOT NULL of the old columns")
			.contains("zdm:relax-before-claim");
		assertThat(this.jdbc.queryForObject(
				"SELECT attnotnull FROM pg_attribute " + "WHERE attrelid = 'strict'::regclass AND attname = 'street'",
				Boolean.class))
			.isTrue();
		// a writer outside the application writes an old column while the relax waits:
		// the final check runs after the relax, so it sees the write and holds the
		// contract, where a check before the wait was clean and the write went with the
		// column
		try (Connection outside = postgres.database().newConnection();
				Statement statement = outside.createStatement()) {
			assertThat(statement.executeUpdate("UPDATE strict SET street = 'written outside' WHERE id = 8")).isOne();
		}
		holder.rollback();
		holder.close();
		await().atMost(Duration.ofSeconds(60)).until(() -> strict.check().held("strict") != null);
		assertThat(strict.check().held("strict").rows()).containsExactly("key 8: different");
		assertThat(new MigrationStateRepository(postgres.dataSource()).find("strict").isContracted()).isFalse();
		endpoint(strict).ddl("strict", "contract", "apply-old", "a job wrote it; it is stopped", SecurityContext.NONE);
		await().atMost(Duration.ofSeconds(60)).until(() -> history.isStepDone("strict", DdlStep.CONTRACT));
		assertThat(strict.runner().contract().stepHeldBack("strict")).isNull();
		assertThat(this.jdbc.queryForObject("SELECT street FROM strict_addresses WHERE order_id = 8", String.class))
			.isEqualTo("written outside");
		long before = written.get();
		await().atMost(Duration.ofSeconds(10)).until(() -> written.get() >= before + 20);
		writing.set(false);
		application.join();
		// no insert failed, before the claim, after it, or after the scripts
		assertThat(failure.get()).isNull();
		assertThat(
				this.jdbc.queryForObject("SELECT count(*) FROM strict_addresses WHERE order_id > 20000000", Long.class))
			.isEqualTo(written.get());
		// the constraint went before the claim, so no insert of the new shape after the
		// claim met it
		Map<String, Object> relaxed = this.jdbc.queryForMap("SELECT s.statement, s.finished_at, m.contracted_at "
				+ "FROM zdm_ddl_statement s JOIN zdm_migration m USING (migration_id) "
				+ "WHERE s.migration_id = 'strict' AND s.source = 'zdm:relax-before-claim'");
		assertThat((String) relaxed.get("statement")).contains("ALTER COLUMN \"street\" DROP NOT NULL")
			.doesNotContain("\"city\"");
		assertThat(((java.sql.Timestamp) relaxed.get("finished_at")).toInstant())
			.isBeforeOrEqualTo(((java.sql.Timestamp) relaxed.get("contracted_at")).toInstant());
		assertThat(tableExists("strict")).isTrue();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM information_schema.columns "
				+ "WHERE table_name = 'strict' AND column_name IN ('street', 'city')", Long.class))
			.isZero();
	}

	private boolean tableExists(String table) {
		return Boolean.TRUE.equals(this.jdbc.queryForObject("SELECT to_regclass(?) IS NOT NULL", Boolean.class, table));
	}

	private MigrationDefinition migration(String id, String contract) {
		String location = DdlTestScripts.write(this.scripts.resolve(id).resolve("contract"), "V1__contract.sql",
				contract);
		return MigrationDefinition.builder(id)
			.table(id)
			.targetTable(id + "_addresses")
			.targetKey("order_id")
			.up("street", "street")
			.up("city", "upper(city)")
			.contractLocations(List.of(location))
			.backfill(BackfillFixtures.settings(1000, 100, 2000, Duration.ZERO))
			.build();
	}

	private Started start(String instance, MigrationDefinition migration, Phase requested) {
		DataSource dataSource = postgres.newDataSource(instance, 6);
		InstanceInfo info = InstanceInfo.ofThisProcess(instance, "test", "1");
		FinalContractCheck check = TestEngine.finalContractCheck(dataSource, instance);
		DdlRunners runner = DdlRunners.create(dataSource,
				DdlSettings.defaults().withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)),
				ExpandSettings.defaults(), info, TestFleet.TIMEOUT, List.of(), check);
		this.runners.add(runner);
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration.toBuilder().requestedPhase(requested).build()), info, TestFleet.SETTINGS,
				List.of(runner.validator(), runner.expand(), runner.contract(),
						TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of()), check, heartbeats));
		controller.start();
		this.controllers.add(controller);
		return new Started(dataSource, controller, runner, check, heartbeats);
	}

	private record Started(DataSource dataSource, PhaseController controller, DdlRunners runner,
			FinalContractCheck check, HeartbeatCounter heartbeats) {

	}

	/**
	 * A writer outside the application (a job, {@code psql}) that writes the old side
	 * only, on keys of its own: updates and deletes of its rows, and inserts of new ones.
	 * Remembers the street it last wrote per key, empty for a deleted row.
	 */
	private static final class OutsideWriter {

		private final Map<Long, String> written = new ConcurrentHashMap<>();

		private final AtomicLong writes = new AtomicLong();

		private final AtomicBoolean writing = new AtomicBoolean(true);

		private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();

		private final Thread thread = new Thread(this::write, "outside-writer");

		void start() {
			this.thread.start();
		}

		void stop() throws InterruptedException {
			this.writing.set(false);
			this.thread.join();
			assertThat(this.failure.get()).isNull();
		}

		private void write() {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			long nextInsert = OUTSIDE_KEYS + 1_000_000;
			try (Connection connection = postgres.database().newConnection()) {
				connection.setClientInfo("ApplicationName", "outside-writer");
				while (this.writing.get()) {
					int choice = random.nextInt(10);
					if (choice < 3) {
						long id = nextInsert++;
						String street = "inserted outside " + id;
						execute(connection, "INSERT INTO held (id, street, city) VALUES (?, ?, 'x')", id, street);
						this.written.put(id, street);
					}
					else if (choice < 9) {
						long id = OUTSIDE_KEYS + random.nextInt(200);
						String street = "updated outside " + random.nextInt(1_000_000);
						if (execute(connection, "UPDATE held SET street = ? WHERE id = ?", street, id) == 1) {
							this.written.put(id, street);
						}
					}
					else {
						long id = OUTSIDE_KEYS + random.nextInt(200);
						execute(connection, "DELETE FROM held WHERE id = ?", id);
						this.written.put(id, "");
					}
					this.writes.incrementAndGet();
					Thread.sleep(5);
				}
			}
			catch (Throwable ex) {
				this.failure.set(ex);
			}
		}

		private static int execute(Connection connection, String sql, Object... values) throws Exception {
			try (PreparedStatement statement = connection.prepareStatement(sql)) {
				for (int i = 0; i < values.length; i++) {
					statement.setObject(i + 1, values[i]);
				}
				return statement.executeUpdate();
			}
		}

	}

}
