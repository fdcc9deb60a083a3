package dev.zdm.internal.ddl.declared;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.DdlStatus;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlRunners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that each declared operation's generated statements, run by the expand or
 * contract step, produce the intended column, index or constraint on a real PostgreSQL,
 * while another session holds a conflicting lock on the table, without holding up a
 * concurrent reader for much longer than the lock timeout.
 */
class DeclaredOperationsTests {

	private static final Duration LOCK_TIMEOUT = Duration.ofMillis(100);

	private static final int ROWS = 2000;

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final DdlSettings settings = DdlSettings.defaults()
		.withLockTimeout(LOCK_TIMEOUT)
		.withMaxAttempts(200)
		.withBackoff(Duration.ofMillis(50), Duration.ofMillis(300));

	@BeforeAll
	static void createTables() {
		new ZdmSchema(postgres.dataSource()).migrate();
		postgres.jdbc().execute("CREATE TABLE customers (id bigint PRIMARY KEY)");
		postgres.jdbc().execute("INSERT INTO customers SELECT i FROM generate_series(1, 100) i");
	}

	@ParameterizedTest
	@EnumSource(Operation.class)
	void generatedStatementsRunUnderAHeldLockWithoutBlockingReaders(Operation operation) throws Exception {
		String table = "orders_" + operation.name().toLowerCase();
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute(
				"CREATE TABLE " + table + " (id bigint PRIMARY KEY, customer_id bigint, number text, total numeric)");
		jdbc.execute(
				"INSERT INTO " + table + " SELECT i, 1 + i % 100, 'N' || i, i FROM generate_series(1, " + ROWS + ") i");
		String id = table.replace('_', '-');
		MigrationDefinition migration = operation.declare
			.apply(MigrationDefinition.builder(id).table("public." + table))
			.build();
		DeclaredOperations declared = declared(migration);
		assertThat(operation.done(jdbc, table)).as("before the step").isFalse();
		try (HikariDataSource pool = postgres.newDataSource("zdm-ddl-" + table, 4);
				HikariDataSource readerPool = waitingForALockAtMost("readers-" + table, 3,
						LOCK_TIMEOUT.plusMillis(400));
				Connection blocker = postgres.database().newConnection()) {
			DdlRunners runner = DdlRunners.create(pool, this.settings,
					new ExpandSettings(true, Duration.ofMinutes(10), Set.of()),
					new InstanceInfo("declared-tests", null, "localhost", 1), Duration.ofSeconds(5), List.of(declared));
			runner.validator().validate(migration, MigrationState.initial(id));
			if (operation.step == DdlStep.CONTRACT) {
				runner.expand().beforeJoin(migration, MigrationState.initial(id));
				new MigrationStateRepository(postgres.dataSource()).markContracted(id, "declared-tests");
			}
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				// a write in flight: its lock conflicts with every statement the step
				// starts with, and a concurrent index build waits for its transaction
				statement.execute("UPDATE " + table + " SET total = total WHERE id = 1");
			}
			TimedLoops readers = readers(readerPool, table);
			CompletableFuture<Void> step = CompletableFuture.runAsync(() -> {
				if (operation.step == DdlStep.EXPAND) {
					runner.expand().beforeJoin(migration, MigrationState.initial(id));
				}
				else {
					runner.contract().contract(migration);
				}
			});
			await().atMost(Duration.ofSeconds(30)).until(() -> lockTimeouts(runner, id, operation.step) >= 3);
			assertThat(step).isNotDone();
			assertThat(operation.done(jdbc, table)).as("while the lock is held").isFalse();
			blocker.commit();
			step.get(60, TimeUnit.SECONDS);
			long longestRead = readers.stop();
			// a read that waited for a lock longer than the step's lock timeout and a
			// margin failed on its session's lock_timeout
			assertThat(readers.failure()).isNull();
			assertThat(readers.completed()).isGreaterThan(0);
			System.out.println("Longest read " + longestRead + " ms (wall clock, lock waits bounded by the server)");
			assertThat(operation.done(jdbc, table)).as("after the step").isTrue();
			DdlStatus status = runner.history().status(id, 5);
			assertThat(status.step(operation.step).isDone()).isTrue();
			assertThat(status.statements()).isNotEmpty()
				.allSatisfy((statement) -> assertThat(statement.source()).isEqualTo("contributor:DeclaredOperations"))
				.allSatisfy((statement) -> assertThat(statement.state()).isEqualTo("applied"));
			assertThat((operation.step == DdlStep.EXPAND) ? declared.expandStatements(migration)
					: declared.contractStatements(migration))
				.as("statements left once the step is done")
				.isEmpty();
			runner.destroy();
		}
	}

	@Test
	void columnNotNullAndCheckOfAPartitionedTableReachEveryPartition() {
		JdbcTemplate jdbc = postgres.jdbc();
		createPartitioned("events", "id bigint NOT NULL, at date NOT NULL, kind text, n int", "'k', i", 1000);
		MigrationDefinition migration = MigrationDefinition.builder("events-declared")
			.table("public.events")
			.key("id")
			.column("status", "text", "'new'")
			.notNull("kind")
			.check("events_n_positive", "n > 0")
			.build();
		DeclaredOperations declared = declared(migration);
		DdlRunners runner = DdlRunners.create(postgres.dataSource(), this.settings,
				new ExpandSettings(true, Duration.ofMinutes(10), Set.of()),
				new InstanceInfo("declared-tests", null, "localhost", 1), Duration.ofSeconds(5), List.of(declared));
		runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		new MigrationStateRepository(postgres.dataSource()).markContracted(migration.id(), "declared-tests");
		assertThat(runner.contract().contract(migration)).isTrue();
		runner.destroy();
		for (String partition : List.of("events_2025", "events_2026")) {
			assertThat(jdbc.queryForObject("SELECT count(*) FROM " + partition + " WHERE status = 'new'", Long.class))
				.isPositive();
			assertThat(jdbc.queryForObject("SELECT attnotnull FROM pg_attribute WHERE attrelid = '" + partition
					+ "'::regclass AND attname = 'kind'", Boolean.class))
				.isTrue();
			assertThat(jdbc.queryForObject("SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = '"
					+ partition + "'::regclass AND conname = 'events_n_positive'", Boolean.class))
				.isTrue();
		}
		assertThat(declared.contractStatements(migration)).isEmpty();
	}

	@Test
	void indexAndUniqueConstraintOfAPartitionedTableAreBuiltPartitionByPartitionUnderWrites() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		createPartitioned("logs", "id bigint NOT NULL, at date NOT NULL, kind text, ref bigint, PRIMARY KEY (id, at)",
				"'k' || (i % 7), i", 20_000);
		MigrationDefinition migration = MigrationDefinition.builder("logs-declared")
			.table("public.logs")
			.index("logs_kind", "kind")
			.unique("logs_ref_at", "ref", "at")
			.build();
		DeclaredOperations declared = declared(migration);
		assertThat(declared.expandStatements(migration)).containsExactly(
				"CREATE INDEX IF NOT EXISTS \"logs_kind\" ON ONLY \"public\".\"logs\" (\"kind\")",
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"logs_kind_logs_2025\" ON \"public\".\"logs_2025\" (\"kind\")",
				"ALTER INDEX \"public\".\"logs_kind\" ATTACH PARTITION \"public\".\"logs_kind_logs_2025\"",
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"logs_kind_logs_2026\" ON \"public\".\"logs_2026\" (\"kind\")",
				"ALTER INDEX \"public\".\"logs_kind\" ATTACH PARTITION \"public\".\"logs_kind_logs_2026\"");
		try (HikariDataSource pool = postgres.newDataSource("zdm-ddl-logs", 4);
				HikariDataSource writerPool = waitingForALockAtMost("writers-logs", 3, LOCK_TIMEOUT.plusMillis(600))) {
			DdlRunners runner = DdlRunners.create(pool, this.settings,
					new ExpandSettings(true, Duration.ofMinutes(10), Set.of()),
					new InstanceInfo("declared-tests", null, "localhost", 1), Duration.ofSeconds(5), List.of(declared));
			TimedLoops writers = writers(writerPool);
			await().atMost(Duration.ofSeconds(10)).until(() -> writers.completed() > 20);
			runner.validator().validate(migration, MigrationState.initial(migration.id()));
			long beforeExpand = writers.completed();
			runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
			long atExpand = writers.completed();
			assertThat(atExpand).as("writes during the expand").isGreaterThan(beforeExpand);
			new MigrationStateRepository(postgres.dataSource()).markContracted(migration.id(), "declared-tests");
			assertThat(runner.contract().contract(migration)).isTrue();
			long atContract = writers.completed();
			long longestWrite = writers.stop();
			// a write that waited for a lock longer than a step's lock timeout and a
			// margin failed on its session's lock_timeout
			assertThat(writers.failure()).isNull();
			assertThat(atContract).as("writes during the contract").isGreaterThan(atExpand);
			System.out.println("Longest write " + longestWrite + " ms (wall clock, lock waits bounded by the server)");
			DdlStatus status = runner.history().status(migration.id(), 20);
			assertThat(status.statements()).hasSize(10)
				.allSatisfy((statement) -> assertThat(statement.source()).isEqualTo("contributor:DeclaredOperations"))
				.allSatisfy((statement) -> assertThat(statement.state()).isEqualTo("applied"));
			runner.destroy();
		}
		assertThat(jdbc.queryForObject("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = 'logs_kind'::regclass",
				Boolean.class))
			.isTrue();
		assertThat(jdbc.queryForList("SELECT c.conrelid::regclass::text || ':' || c.conname FROM pg_constraint c "
				+ "WHERE c.conparentid = (SELECT oid FROM pg_constraint WHERE conrelid = 'logs'::regclass "
				+ "AND conname = 'logs_ref_at' AND contype = 'u') ORDER BY 1", String.class))
			.as("the partitions' constraints, adopted by the parent's")
			.containsExactly("logs_2025:logs_ref_at_logs_2025", "logs_2026:logs_ref_at_logs_2026");
		assertThat(declared.expandStatements(migration)).isEmpty();
		assertThat(declared.contractStatements(migration)).isEmpty();
		// a partition created afterwards gets both from PostgreSQL
		jdbc.execute("CREATE TABLE logs_2027 PARTITION OF logs FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')");
		assertThat(
				jdbc.queryForObject("SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid "
						+ "WHERE x.indrelid = 'logs_2027'::regclass AND i.inhparent IN ('logs_kind'::regclass, "
						+ "'logs_ref_at'::regclass)", Long.class))
			.isEqualTo(2);
	}

	// partitions for 2025 and 2026 by "at", rows in both: (i, a date, then the values)
	private static void createPartitioned(String table, String columns, String values, int rows) {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE " + table + " (" + columns + ") PARTITION BY RANGE (at)");
		for (int year : new int[] { 2025, 2026 }) {
			jdbc.execute("CREATE TABLE %1$s_%2$d PARTITION OF %1$s FOR VALUES FROM ('%2$d-01-01') TO ('%3$d-01-01')"
				.formatted(table, year, year + 1));
		}
		jdbc.execute("INSERT INTO " + table + " SELECT i, DATE '2025-01-01' + (i % 700), " + values
				+ " FROM generate_series(1, " + rows + ") i");
	}

	private static DeclaredOperations declared(MigrationDefinition migration) {
		new MigrationStateRepository(postgres.dataSource()).register(migration.id());
		DeclaredOperations declared = new DeclaredOperations(postgres.dataSource(), new DefaultResourceLoader());
		declared.validate(migration, MigrationState.initial(migration.id()));
		return declared;
	}

	private static int lockTimeouts(DdlRunners runner, String id, DdlStep step) {
		return runner.history()
			.status(id, 5)
			.statements()
			.stream()
			.filter((statement) -> statement.step() == step)
			.mapToInt(DdlStatus.Statement::lockTimeouts)
			.sum();
	}

	enum Operation {

		COLUMN(DdlStep.EXPAND, (builder) -> builder.column("status", "text", "'new'"),
				"SELECT count(*) = 1 FROM pg_attribute WHERE attrelid = '%1$s'::regclass AND attname = 'status'",
				"SELECT count(*) = " + ROWS + " FROM %1$s WHERE status = 'new'"),

		INDEX(DdlStep.EXPAND, (builder) -> builder.index("orders_index_customer", "customer_id"),
				"SELECT count(*) = 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
						+ "WHERE c.relname = 'orders_index_customer' AND i.indisvalid "
						+ "AND i.indrelid = '%1$s'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%%(customer_id)'"),

		NOT_NULL(DdlStep.CONTRACT, (builder) -> builder.notNull("customer_id"),
				"SELECT attnotnull FROM pg_attribute WHERE attrelid = '%1$s'::regclass AND attname = 'customer_id'",
				"SELECT count(*) = 0 FROM pg_constraint WHERE conrelid = '%1$s'::regclass AND conname LIKE 'zdm%%'"),

		CHECK(DdlStep.CONTRACT, (builder) -> builder.check("orders_check_total", "total >= 0"),
				"SELECT count(*) = 1 FROM pg_constraint WHERE conrelid = '%1$s'::regclass "
						+ "AND conname = 'orders_check_total' AND contype = 'c' AND convalidated"),

		FOREIGN_KEY(DdlStep.CONTRACT,
				(builder) -> builder.foreignKey("orders_fk_customer", List.of("customer_id"), "customers", List.of()),
				"SELECT count(*) = 1 FROM pg_constraint WHERE conrelid = '%1$s'::regclass "
						+ "AND conname = 'orders_fk_customer' AND contype = 'f' AND convalidated "
						+ "AND confrelid = 'customers'::regclass"),

		UNIQUE(DdlStep.CONTRACT, (builder) -> builder.unique("orders_unique_number", "number"),
				"SELECT count(*) = 1 FROM pg_constraint co JOIN pg_index i ON i.indexrelid = co.conindid "
						+ "WHERE co.conrelid = '%1$s'::regclass AND co.conname = 'orders_unique_number' "
						+ "AND co.contype = 'u' AND i.indisvalid AND i.indisunique");

		private final DdlStep step;

		private final UnaryOperator<MigrationDefinition.Builder> declare;

		private final String[] checks;

		Operation(DdlStep step, UnaryOperator<MigrationDefinition.Builder> declare, String... checks) {
			this.step = step;
			this.declare = declare;
			this.checks = checks;
		}

		boolean done(JdbcTemplate jdbc, String table) {
			for (String check : this.checks) {
				if (!Boolean.TRUE.equals(jdbc.queryForObject(String.format(check, table), Boolean.class))) {
					return false;
				}
			}
			return true;
		}

	}

	// Lock waits bounded by the server rather than timed by the wall clock of a loaded
	// machine: a session that waits for a lock longer than this fails.
	private static HikariDataSource waitingForALockAtMost(String poolName, int size, Duration lockWait) {
		HikariConfig config = postgres.database().newPoolConfig(poolName, size);
		config.setConnectionInitSql("SET lock_timeout = '" + lockWait.toMillis() + "ms'");
		return new HikariDataSource(config);
	}

	// inserts of new rows and updates of existing ones through the parent of logs
	private static TimedLoops writers(DataSource dataSource) {
		JdbcTemplate jdbc = new JdbcTemplate(dataSource);
		return new TimedLoops("writer", 2, (thread, iteration) -> {
			long next = 100_000 + thread + 2 * iteration;
			if (next % 3 == 0) {
				jdbc.update("UPDATE logs SET kind = 'u' || ? WHERE id = ?", next, next % 20_000 + 1);
			}
			else {
				jdbc.update("INSERT INTO logs VALUES (?, DATE '2025-01-01' + (? % 700)::int, 'new', ?)", next, next,
						next);
			}
		});
	}

	private static TimedLoops readers(DataSource dataSource, String table) {
		JdbcTemplate jdbc = new JdbcTemplate(dataSource);
		return new TimedLoops("reader", 0, (thread, iteration) -> jdbc
			.queryForList("SELECT total FROM " + table + " WHERE id = ?", Object.class, iteration % ROWS + 1));
	}

	/**
	 * Two sessions that each repeat a statement until stopped, timing the longest.
	 */
	static final class TimedLoops {

		private final AtomicBoolean running = new AtomicBoolean(true);

		private final AtomicLong longestNanos = new AtomicLong();

		private final AtomicLong completed = new AtomicLong();

		private final AtomicReference<Throwable> failure = new AtomicReference<>();

		private final List<Thread> threads;

		TimedLoops(String name, long pauseMillis, Repeated repeated) {
			this.threads = IntStream.range(0, 2).mapToObj((n) -> {
				Thread thread = new Thread(() -> {
					try {
						for (long iteration = 0; this.running.get(); iteration++) {
							long started = System.nanoTime();
							repeated.run(n, iteration);
							this.longestNanos.accumulateAndGet(System.nanoTime() - started, Math::max);
							this.completed.incrementAndGet();
							if (pauseMillis > 0) {
								Thread.sleep(pauseMillis);
							}
						}
					}
					catch (Throwable ex) {
						this.failure.compareAndSet(null, ex);
					}
				}, name + "-" + n);
				thread.setDaemon(true);
				thread.start();
				return thread;
			}).toList();
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

		interface Repeated {

			void run(int thread, long iteration) throws Exception;

		}

	}

}
