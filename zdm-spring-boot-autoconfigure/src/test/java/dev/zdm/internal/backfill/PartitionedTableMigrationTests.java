package dev.zdm.internal.backfill;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillService;
import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlCatalog.TableEstimate;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Whole migrations of a range-partitioned table, partitioned by {@code created_at} with
 * the primary key {@code (id, created_at)} as the migration's key, inside the table (kept
 * in sync by the trigger) and into another table keyed by {@code (order_id, created_at)}:
 * walked expand, dual-write, backfill, read-new and contract by two instances in rolling
 * deploys, under inserts, updates and deletes that run from before the expand until after
 * the contract, through the parent and straight into partitions. One partition is
 * attached with rows of its own during dual-write, one created {@code PARTITION OF}
 * during the backfill and one attached during the backfill, its rows behind the copy's
 * checkpoint (the verification repairs them).
 */
class PartitionedTableMigrationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 30_000;

	/** {@code created_at} of a row, in SQL over a bound id: a minute per id. */
	private static final String CREATED_AT = "(timestamptz '2026-01-01 00:00:00+00' + interval '1 minute' * CAST(? AS double precision))";

	@TempDir
	Path scripts;

	private final List<PhaseController> controllers = new ArrayList<>();

	private final List<DdlRunners> runners = new ArrayList<>();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	/** The partitioned table, {@code events} or {@code orders}. */
	private String table = "";

	private boolean crossTable;

	private String id = "";

	@AfterEach
	void stop() {
		this.controllers.forEach(PhaseController::stop);
		this.runners.forEach(DdlRunners::destroy);
	}

	@Test
	void sameTableMigrationOfARangePartitionedTableReachesContractUnderLiveWritesWithPartitionsAddedMidMigration()
			throws Exception {
		migratesToContract("events", false);
	}

	@Test
	void crossTableMigrationOfARangePartitionedTableReachesContractUnderLiveWritesWithPartitionsAddedMidMigration()
			throws Exception {
		migratesToContract("orders", true);
	}

	// a fault run: a partition attached with rows once the backfill was verified was read
	// at read-new with its new column empty, as the sync trigger never saw its rows
	@Test
	void partitionAttachedAfterTheVerificationIsRepairedBeforeAnyInstanceReadsTheNewSide() throws Exception {
		this.table = "tickets";
		this.id = "tickets-city";
		this.jdbc.execute("CREATE TABLE tickets (id bigint NOT NULL, created_at timestamptz NOT NULL, street text, "
				+ "city text, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)");
		// the partitions the writers write straight into
		partition("_archive", -10_000, 0);
		partition("_p0", 0, 20_000);
		partition("_p1", 20_000, 40_000);
		partition("_p2", 40_000, 80_000);
		this.jdbc.update("INSERT INTO tickets (id, created_at, street, city) SELECT 2 * i, "
				+ CREATED_AT.replace("?", "2 * i") + ", 'street ' || i, 'city ' || i FROM generate_series(1, ?) AS i",
				10_000);
		MigrationDefinition migration = migration();
		Writes writes = new Writes();
		writes.start();
		Started a = start("tickets-a", migration, Phase.BACKFILL);
		Started b = start("tickets-b", migration, Phase.BACKFILL);
		writes.follow(a.controller(), b.controller());
		await().atMost(Duration.ofSeconds(90)).until(() -> {
			BackfillProgress progress = this.service.progress(this.id);
			return progress != null && progress.state() == BackfillState.VERIFIED;
		});
		long atVerified = writes.total();
		// rows written on the old side only, which the writers leave alone
		writes.leaveAttachedRows = true;
		attach("_old", -20_000, -10_000);
		writes.low = -20_000;
		assertThat(disagreeing()).as("the attached rows, before read-new").isGreaterThan(4_000);
		b.controller().stop();
		Started b2 = start("tickets-b2", migration, Phase.READ_NEW);
		writes.follow(a.controller(), b2.controller());
		await().atMost(Duration.ofSeconds(120)).until(() -> b2.effective() == Phase.READ_NEW);
		assertThat(disagreeing()).as("keys whose sides disagree once an instance reads the new side").isZero();
		BackfillProgress progress = this.service.progress(this.id);
		assertThat(progress.verification().succeeded()).isTrue();
		assertThat(progress.verification().rowsRepaired()).as("the attached partition's rows").isGreaterThan(4_000);
		await().atMost(Duration.ofSeconds(30))
			.until(() -> writes.failure() != null || writes.total() > atVerified + 100);
		writes.stop();
		assertThat(writes.failure()).isNull();
		assertThat(writes.lostWrites()).as("lost writes").isZero();
	}

	private void migratesToContract(String table, boolean crossTable) throws Exception {
		this.table = table;
		this.crossTable = crossTable;
		this.id = table + "-city";
		this.jdbc
			.execute("CREATE TABLE " + table + " (id bigint NOT NULL, created_at timestamptz NOT NULL, street text, "
					+ "city text, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)");
		partition("_p0", 0, 20_000);
		partition("_p1", 20_000, 40_000);
		partition("_p2", 40_000, 80_000);
		this.jdbc.update("INSERT INTO " + table + " (id, created_at, street, city) SELECT 2 * i, "
				+ CREATED_AT.replace("?", "2 * i")
				+ ", 'street ' || i, CASE WHEN i % 97 = 0 THEN NULL ELSE 'city ' || i END "
				+ "FROM generate_series(1, ?) AS i", ROWS);
		// as autovacuum does: it never analyzes a partitioned table, only its partitions
		this.jdbc.execute("ANALYZE " + table + "_p0, " + table + "_p1, " + table + "_p2");
		MigrationDefinition migration = migration();
		Writes writes = new Writes();
		writes.start();
		await().atMost(Duration.ofSeconds(30)).until(() -> writes.total() > 30);
		// deploy 1: both instances at dual-write, the expand adds the new side (and the
		// trigger on the parent)
		Started a = start(table + "-a", migration, Phase.DUAL_WRITE);
		Started b = start(table + "-b", migration, Phase.DUAL_WRITE);
		writes.follow(a.controller(), b.controller());
		await().atMost(Duration.ofSeconds(60))
			.until(() -> a.effective() == Phase.DUAL_WRITE && b.effective() == Phase.DUAL_WRITE);
		long atDualWrite = writes.total();
		// a partition attached with rows of its own, written on the old side only
		attach("_archive", -10_000, 0);
		writes.low = -10_000;
		if (!crossTable) {
			this.jdbc.update("INSERT INTO " + table + "_archive (id, created_at, street, city) VALUES (-1, "
					+ CREATED_AT.replace("?", "-1") + ", 'straight in', 'nantes')");
			assertThat(this.jdbc.queryForObject("SELECT city_upper FROM " + table + " WHERE id = -1", String.class))
				.as("the trigger on an attached partition")
				.isEqualTo("NANTES");
			this.jdbc.update("DELETE FROM " + table + " WHERE id = -1");
		}
		await().atMost(Duration.ofSeconds(30)).until(() -> writes.total() > atDualWrite + 50);
		// deploy 2: a first instance moves on, the backfill runs
		a.controller().stop();
		Started a2 = start(table + "-a2", migration, Phase.CONTRACT);
		writes.follow(a2.controller(), b.controller());
		await().atMost(Duration.ofSeconds(60)).until(() -> {
			BackfillProgress progress = this.service.progress(this.id);
			return progress != null && progress.copiedAt() == null && progress.rowsDone() > 0;
		});
		long atBackfill = writes.total();
		partition("_p3", 80_000, 120_000);
		writes.high = 120_000;
		// rows behind the copy's checkpoint: the copy does not see them, the verification
		// repairs them
		// the writers write the attached partition too, but leave its one-sided rows
		// alone
		// until they are verified: a write through the application would bring them in
		// sync before the verification reaches them
		writes.leaveAttachedRows = true;
		attach("_old", -20_000, -10_000);
		writes.low = -20_000;
		BackfillProgress atAttach = this.service.progress(this.id);
		assertThat(atAttach.copiedAt()).as("attached while the copy runs").isNull();
		// deploy 3: the second instance moves on to read-new
		b.controller().stop();
		Started b2 = start(table + "-b2", migration, Phase.READ_NEW);
		writes.follow(a2.controller(), b2.controller());
		await().atMost(Duration.ofSeconds(120))
			.until(() -> a2.effective() == Phase.CONTRACT && b2.effective() == Phase.READ_NEW);
		long atReadNew = writes.total();
		assertThat(atReadNew).as("writes during the backfill").isGreaterThan(atBackfill + 50);
		await().atMost(Duration.ofSeconds(30)).until(() -> writes.total() > atReadNew + 50);
		assertThat(writes.failure()).isNull();
		assertThat(disagreeing()).as("keys whose sides disagree, at read-new").isZero();
		BackfillProgress progress = this.service.progress(this.id);
		assertThat(progress.verification().succeeded()).isTrue();
		assertThat(progress.verification().rowsRepaired()).as("rows of the partition attached behind the copy")
			.isGreaterThan(4_500);
		writes.leaveAttachedRows = false;
		assertThat(progress.rowsEstimated()).as("estimated from the partitions").isGreaterThanOrEqualTo(ROWS);
		assertThat(this.jdbc.queryForObject("SELECT last_key FROM zdm_backfill WHERE migration_id = ?", String.class,
				this.id))
			.as("checkpoint over the key tuple")
			.startsWith("{");
		// deploy 4: the last instance moves on, the contract runs
		b2.controller().stop();
		Started b3 = start(table + "-b3", migration, Phase.CONTRACT);
		writes.follow(a2.controller(), b3.controller());
		await().atMost(Duration.ofSeconds(60))
			.until(() -> new DdlHistoryRepository(postgres.dataSource()).isStepDone(this.id, DdlStep.CONTRACT));
		long atContract = writes.total();
		await().atMost(Duration.ofSeconds(30)).until(() -> writes.total() > atContract + 50);
		writes.stop();
		assertThat(writes.failure()).isNull();
		assertThat(writes.inserts.get()).isPositive();
		assertThat(writes.updates.get()).isPositive();
		assertThat(writes.deletes.get()).isPositive();
		assertThat(writes.straightIntoPartitions.get()).isPositive();
		assertThat(writes.lostWrites()).as("lost writes").isZero();
		if (crossTable) {
			assertThat(this.jdbc.queryForObject("SELECT count(*) FROM " + table + "_at_contract WHERE id IS NULL "
					+ "OR order_id IS NULL OR ROW(new_street, new_city) IS DISTINCT FROM ROW(street, upper(city))",
					Long.class))
				.as("keys missing or disagreeing on the new side when the contract ran")
				.isZero();
			assertThat(this.jdbc.queryForObject("SELECT count(*) FROM " + table + " o LEFT JOIN " + table
					+ "_addresses a ON (a.order_id, a.created_at) = (o.id, o.created_at) "
					+ "WHERE o.street LIKE 'archived %' AND a.order_id IS NULL", Long.class))
				.as("attached rows left without a new row")
				.isZero();
		}
		else {
			assertThat(columns()).containsExactly("id", "created_at", "street", "city_upper");
			assertThat(this.jdbc.queryForObject("SELECT count(*) FROM " + table + " WHERE street LIKE 'archived %' "
					+ "AND city_upper IS NULL AND id % 97 <> 0", Long.class))
				.as("attached rows left without the new value")
				.isZero();
		}
	}

	@Test
	void estimatesOfAPartitionedTableAddUpThoseOfItsPartitions() throws Exception {
		this.jdbc.execute("CREATE TABLE visits (id bigint PRIMARY KEY, page text) PARTITION BY RANGE (id)");
		this.jdbc.execute("CREATE TABLE visits_1 PARTITION OF visits FOR VALUES FROM (0) TO (1000)");
		this.jdbc.execute("CREATE TABLE visits_2 PARTITION OF visits FOR VALUES FROM (1000) TO (5000)");
		this.jdbc.update("INSERT INTO visits SELECT i, 'page ' || i FROM generate_series(1, 3999) AS i");
		this.jdbc.execute("ANALYZE visits_1, visits_2");
		assertThat(
				this.jdbc.queryForObject("SELECT reltuples FROM pg_class WHERE oid = 'visits'::regclass", Double.class))
			.as("the parent's own estimate")
			.isLessThanOrEqualTo(0);
		assertThat(new BackfillRepository(postgres.dataSource()).estimatedRows("\"public\".\"visits\""))
			.isEqualTo(3999);
		TableEstimate estimate = new DdlCatalog(postgres.dataSource()).tableEstimate("visits");
		assertThat(estimate.rows()).isEqualTo(3999);
		assertThat(estimate.analyzed()).isTrue();
		assertThat(estimate.bytes()).isEqualTo(this.jdbc.queryForObject(
				"SELECT pg_total_relation_size('visits_1') + pg_total_relation_size('visits_2')", Long.class));
		// read from the catalog: a partition locked by a DDL does not hold up the
		// backfill's
		// estimate
		try (Connection holder = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (java.sql.Statement statement = holder.createStatement()) {
				statement.execute("LOCK TABLE visits_2 IN ACCESS EXCLUSIVE MODE");
			}
			assertThat(CompletableFuture
				.supplyAsync(() -> new BackfillRepository(postgres.dataSource()).estimatedRows("\"public\".\"visits\""))
				.get(10, TimeUnit.SECONDS)).isEqualTo(3999);
			holder.rollback();
		}
	}

	private MigrationDefinition migration() {
		String table = this.table;
		MigrationDefinition.Builder builder = MigrationDefinition.builder(this.id)
			.table(table)
			.backfill(BackfillFixtures.settings(200, 100, 500, Duration.ofMillis(30))
				.withVerification(1000, Duration.ofMillis(10)));
		if (this.crossTable) {
			// the contract records both sides as it finds them, in one statement
			return builder.targetTable(table + "_addresses")
				.targetKey("order_id", "created_at")
				.up("street", "street")
				.up("city", "upper(city)")
				.expandLocations(List.of(script("expand",
						"CREATE TABLE " + table + "_addresses (order_id bigint "
								+ "NOT NULL, created_at timestamptz NOT NULL, street text, city text, "
								+ "PRIMARY KEY (order_id, created_at));\n")))
				.contractLocations(List.of(script("contract",
						"CREATE TABLE " + table + "_at_contract AS SELECT o.id, a.order_id, o.street, o.city, "
								+ "a.street AS new_street, a.city AS new_city FROM " + table + " AS o FULL JOIN "
								+ table + "_addresses AS a ON (a.order_id, a.created_at) = (o.id, o.created_at);\n")))
				.build();
		}
		return builder.sync(SyncMode.TRIGGER)
			.up("city_upper", "upper(city)")
			.down("city", "lower(city_upper)")
			.expandLocations(List.of(script("expand", "ALTER TABLE " + table + " ADD COLUMN city_upper text;\n")))
			.contractLocations(List.of(script("contract", "ALTER TABLE " + table + " DROP COLUMN city;\n")))
			.build();
	}

	private String script(String step, String sql) {
		return DdlTestScripts.write(this.scripts.resolve(this.table).resolve(step), "V1__" + step + ".sql", sql);
	}

	private void partition(String suffix, long fromId, long toId) {
		this.jdbc.execute("CREATE TABLE " + this.table + suffix + " PARTITION OF " + this.table + " FOR VALUES FROM ("
				+ at(fromId) + ") TO (" + at(toId) + ")");
	}

	/**
	 * Attach a table made with the parent's columns and key, holding a row for every
	 * other id of its range, written on the old side only (the new column empty, no new
	 * row).
	 */
	private void attach(String suffix, long fromId, long toId) {
		String name = this.table + suffix;
		this.jdbc.execute("CREATE TABLE " + name + " (id bigint NOT NULL, created_at timestamptz NOT NULL, "
				+ "street text, city text" + (this.crossTable ? "" : ", city_upper text")
				+ ", PRIMARY KEY (id, created_at))");
		this.jdbc.update("INSERT INTO " + name + " (id, created_at, street, city) SELECT i, "
				+ CREATED_AT.replace("?", "i") + ", 'archived ' || i, CASE WHEN i % 97 = 0 THEN NULL ELSE 'city ' || i "
				+ "END FROM generate_series(?::bigint, ?::bigint - 1, 2) AS i", fromId, toId);
		this.jdbc.execute("ALTER TABLE " + this.table + " ATTACH PARTITION " + name + " FOR VALUES FROM (" + at(fromId)
				+ ") TO (" + at(toId) + ")");
	}

	private static String at(long id) {
		return "'" + java.time.Instant.parse("2026-01-01T00:00:00Z").plus(Duration.ofMinutes(id)) + "'";
	}

	private long disagreeing() {
		String table = this.table;
		return this.jdbc.queryForObject(this.crossTable ? "SELECT count(*) FROM " + table + " o FULL JOIN " + table
				+ "_addresses a "
				+ "ON (a.order_id, a.created_at) = (o.id, o.created_at) WHERE o.id IS NULL OR a.order_id IS NULL "
				+ "OR ROW(a.street, a.city) IS DISTINCT FROM ROW(o.street, upper(o.city))"
				: "SELECT count(*) FROM " + table + " WHERE city_upper IS DISTINCT FROM upper(city)", Long.class);
	}

	private List<String> columns() {
		return this.jdbc.queryForList("SELECT attname FROM pg_attribute WHERE attrelid = CAST(? AS regclass) "
				+ "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", String.class, this.table);
	}

	private Started start(String instance, MigrationDefinition migration, Phase requested) {
		DataSource dataSource = postgres.newDataSource(instance, 6);
		InstanceInfo info = InstanceInfo.ofThisProcess(instance, "test", "1");
		List<SchemaChangeContributor> contributors = List.of(new SameTableSyncTrigger(dataSource));
		FinalContractCheck check = TestEngine.finalContractCheck(dataSource, instance);
		DdlRunners runner = DdlRunners.create(dataSource,
				DdlSettings.defaults().withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)),
				ExpandSettings.defaults(), info, TestFleet.TIMEOUT, contributors, check);
		this.runners.add(runner);
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration.toBuilder().requestedPhase(requested).build()), info, TestFleet.SETTINGS,
				List.of(runner.validator(), runner.expand(), runner.contract(),
						TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of()), check));
		controller.start();
		this.controllers.add(controller);
		return new Started(controller, migration.id());
	}

	private record Started(PhaseController controller, String migrationId) {

		Phase effective() {
			return this.controller.status(this.migrationId).effective();
		}

	}

	/**
	 * The application's writes, as its routed repositories send them, each writer
	 * following the phase of one of the two instances, owning the ids congruent to its
	 * number and sending half its inserts and updates on the old side straight into the
	 * row's partition. Inside the table, with the trigger keeping the other side in sync:
	 * the old side ({@code city}) before {@code read-new}, the new side
	 * ({@code city_upper}) from then on. Into another table: both sides in one
	 * transaction, the old side only at {@code expand}, the new side first from
	 * {@code read-new} on. Acknowledged values are kept as the new side should hold them.
	 */
	private final class Writes {

		private static final int WRITERS = 4;

		private final AtomicBoolean writing = new AtomicBoolean(true);

		private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();

		private final Map<Long, String> acknowledged = new ConcurrentHashMap<>();

		private final List<Thread> threads = new ArrayList<>();

		private final String table = PartitionedTableMigrationTests.this.table;

		private final boolean crossTable = PartitionedTableMigrationTests.this.crossTable;

		private final String id = PartitionedTableMigrationTests.this.id;

		private volatile List<Supplier<Phase>> phases = List.of(() -> Phase.EXPAND);

		volatile long low = 1;

		volatile long high = 80_000;

		/**
		 * Whether the writers leave alone the rows {@link #attach} put in the partition
		 * attached behind the copy (its even keys; odd keys are still inserted there).
		 */
		volatile boolean leaveAttachedRows;

		final AtomicLong inserts = new AtomicLong();

		final AtomicLong updates = new AtomicLong();

		final AtomicLong deletes = new AtomicLong();

		final AtomicLong straightIntoPartitions = new AtomicLong();

		void start() {
			for (int writer = 0; writer < WRITERS; writer++) {
				int owner = writer;
				Thread thread = new Thread(() -> write(owner), this.table + "-writer-" + writer);
				thread.start();
				this.threads.add(thread);
			}
		}

		void follow(PhaseController first, PhaseController second) {
			this.phases = List.of(() -> first.status(this.id).effective(), () -> second.status(this.id).effective());
		}

		void stop() throws InterruptedException {
			this.writing.set(false);
			for (Thread thread : this.threads) {
				thread.join();
			}
		}

		@Nullable Throwable failure() {
			return this.failure.get();
		}

		long total() {
			return this.inserts.get() + this.updates.get() + this.deletes.get();
		}

		private void write(int owner) {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			try (Connection connection = postgres.database().newConnection()) {
				connection.setAutoCommit(false);
				while (this.writing.get()) {
					long id = random.nextLong(this.low, this.high);
					id = id - Math.floorMod(id, WRITERS) + owner;
					if (id >= this.high || (this.leaveAttachedRows && id < -10_000 && Math.floorMod(id, 2) == 0)) {
						continue;
					}
					List<Supplier<Phase>> followed = this.phases;
					Phase phase = followed.get(owner % followed.size()).get();
					String target = random.nextBoolean() ? partitionOf(id) : this.table;
					String street = "street " + id + "-" + random.nextInt(1_000_000);
					String city = (random.nextInt(10) == 0) ? null : "city " + random.nextInt(1000);
					int choice = random.nextInt(100);
					try {
						if (choice < 45) {
							if (insert(connection, phase, target, id, street, city)) {
								this.inserts.incrementAndGet();
								counted(target);
								commit(connection, id, street, city);
							}
							else {
								connection.rollback();
							}
						}
						else if (choice < 88) {
							if (update(connection, phase, target, id, street, city)) {
								this.updates.incrementAndGet();
								counted(target);
								commit(connection, id, street, city);
							}
							else {
								connection.rollback();
							}
						}
						else {
							delete(connection, phase, id);
							this.deletes.incrementAndGet();
							connection.commit();
							this.acknowledged.put(id, "");
						}
					}
					catch (SQLException ex) {
						connection.rollback();
						throw ex;
					}
					Thread.sleep(5);
				}
			}
			catch (Throwable ex) {
				this.failure.compareAndSet(null, ex);
			}
		}

		private boolean insert(Connection connection, Phase phase, String target, long id, String street,
				@Nullable String city) throws SQLException {
			if (!this.crossTable) {
				boolean newSide = phase.readsNew();
				return execute(connection,
						"INSERT INTO " + target + " (id, created_at, street, " + (newSide ? "city_upper" : "city")
								+ ") VALUES (?, " + CREATED_AT + ", ?, ?) ON CONFLICT DO NOTHING",
						id, id, street, newSide ? upper(city) : city) == 1;
			}
			String old = "INSERT INTO " + target + " (id, created_at, street, city) VALUES (?, " + CREATED_AT
					+ ", ?, ?) ON CONFLICT DO NOTHING";
			String upsertNew = "INSERT INTO " + this.table + "_addresses (order_id, created_at, street, city) "
					+ "VALUES (?, " + CREATED_AT + ", ?, upper(?)) " + UPSERT;
			if (phase == Phase.EXPAND) {
				return execute(connection, old, id, id, street, city) == 1;
			}
			if (phase.readsNew()) {
				execute(connection, upsertNew, id, id, street, city);
				return execute(connection, old, id, id, street, city) == 1;
			}
			return execute(connection, old, id, id, street, city) == 1
					&& execute(connection, upsertNew, id, id, street, city) == 1;
		}

		private boolean update(Connection connection, Phase phase, String target, long id, String street,
				@Nullable String city) throws SQLException {
			if (!this.crossTable) {
				boolean newSide = phase.readsNew();
				return execute(connection,
						"UPDATE " + target + " SET street = ?, " + (newSide ? "city_upper" : "city")
								+ " = ? WHERE id = ? AND created_at = " + CREATED_AT,
						street, newSide ? upper(city) : city, id, id) == 1;
			}
			String old = "UPDATE " + target + " SET street = ?, city = ? WHERE id = ? AND created_at = " + CREATED_AT;
			// the new side's write is an upsert: the backfill may not have copied the row
			String upsertNew = "INSERT INTO " + this.table + "_addresses (order_id, created_at, street, city) "
					+ "SELECT ?, " + CREATED_AT + ", ?, upper(?) WHERE EXISTS (SELECT 1 FROM " + this.table
					+ " WHERE id = ? AND created_at = " + CREATED_AT + ") " + UPSERT;
			if (phase == Phase.EXPAND) {
				return execute(connection, old, street, city, id, id) == 1;
			}
			if (phase.readsNew()) {
				execute(connection, upsertNew, id, id, street, city, id, id);
				return execute(connection, old, street, city, id, id) == 1;
			}
			return execute(connection, old, street, city, id, id) == 1
					&& execute(connection, upsertNew, id, id, street, city, id, id) == 1;
		}

		private void delete(Connection connection, Phase phase, long id) throws SQLException {
			String old = "DELETE FROM " + this.table + " WHERE id = ? AND created_at = " + CREATED_AT;
			if (!this.crossTable || phase == Phase.EXPAND) {
				execute(connection, old, id, id);
				return;
			}
			String deleteNew = "DELETE FROM " + this.table + "_addresses WHERE order_id = ? AND created_at = "
					+ CREATED_AT;
			execute(connection, phase.readsNew() ? deleteNew : old, id, id);
			execute(connection, phase.readsNew() ? old : deleteNew, id, id);
		}

		private static final String UPSERT = "ON CONFLICT (order_id, created_at) "
				+ "DO UPDATE SET street = EXCLUDED.street, city = EXCLUDED.city";

		private void counted(String target) {
			if (!target.equals(this.table)) {
				this.straightIntoPartitions.incrementAndGet();
			}
		}

		private void commit(Connection connection, long id, String street, @Nullable String city) throws SQLException {
			connection.commit();
			this.acknowledged.put(id, street + "|" + upper(city));
		}

		private static @Nullable String upper(@Nullable String city) {
			return (city != null) ? city.toUpperCase(Locale.ROOT) : null;
		}

		private String partitionOf(long id) {
			if (id < -10_000) {
				return this.table + "_old";
			}
			if (id < 0) {
				return this.table + "_archive";
			}
			if (id < 20_000) {
				return this.table + "_p0";
			}
			if (id < 40_000) {
				return this.table + "_p1";
			}
			return this.table + ((id < 80_000) ? "_p2" : "_p3");
		}

		private int execute(Connection connection, String sql, Object... values) throws SQLException {
			try (PreparedStatement statement = connection.prepareStatement(sql)) {
				for (int i = 0; i < values.length; i++) {
					statement.setObject(i + 1, values[i]);
				}
				return statement.executeUpdate();
			}
		}

		/**
		 * Ids whose acknowledged last write is not what the table holds: on the new side,
		 * and on the old side too for a migration into another table.
		 */
		long lostWrites() {
			List<String> sides = this.crossTable
					? List.of("SELECT id, street, upper(city) FROM " + this.table,
							"SELECT order_id, street, city FROM " + this.table + "_addresses")
					: List.of("SELECT id, street, city_upper FROM " + this.table);
			long lost = 0;
			for (String side : sides) {
				Map<Long, String> stored = new ConcurrentHashMap<>();
				PartitionedTableMigrationTests.this.jdbc.query(side, (rs) -> {
					stored.put(rs.getLong(1), rs.getString(2) + "|" + rs.getString(3));
				});
				lost += this.acknowledged.entrySet()
					.stream()
					.filter((entry) -> entry.getValue().isEmpty() ? stored.containsKey(entry.getKey())
							: !entry.getValue().equals(stored.get(entry.getKey())))
					.count();
			}
			return lost;
		}

	}

}
