package dev.zdm.internal.ddl.script;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.internal.ddl.script.StatementLock.Work;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that {@link StatementLock}'s labels of the statements zdm generates on a
 * partitioned table are the locks PostgreSQL takes: each statement runs in a transaction
 * that reads its own locks from {@code pg_locks} before it rolls back.
 */
class StatementLockPartitionTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String PARTITION_INDEXES = "SELECT count(*) FROM pg_index i "
			+ "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN ('readings_2025', 'readings_2026')";

	private final JdbcTemplate jdbc = postgres.jdbc();

	private List<Long> counts = List.of();

	private final UnsafeStatementChecker checker = new UnsafeStatementChecker(new DdlCatalog(postgres.dataSource()));

	@BeforeAll
	static void createPartitionedTable() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE readings (id bigint NOT NULL, at date NOT NULL, kind text) PARTITION BY RANGE (at)");
		jdbc.execute(
				"CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
		jdbc.execute(
				"CREATE TABLE readings_2026 PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
		jdbc.execute("INSERT INTO readings SELECT i, DATE '2025-01-01' + (i % 700), 'k' || (i % 7) "
				+ "FROM generate_series(1, 3000) i");
	}

	@Test
	void indexOnOnlyTheParentTakesShareOnItAndBuildsNothing() {
		String sql = "CREATE INDEX readings_kind_only ON ONLY readings (kind)";
		StatementLock lock = label(sql);
		long partitionIndexes = this.jdbc.queryForObject(PARTITION_INDEXES, Long.class);
		Map<String, Set<String>> locks = locksTakenBy(sql, "SELECT count(*) FROM pg_index i "
				+ "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'readings_kind_only' AND NOT i.indisvalid",
				PARTITION_INDEXES);
		assertThat(locks.get("readings")).containsExactly(postgresMode(lock));
		assertThat(lock.work()).isEqualTo(Work.NONE);
		// the parent's index is invalid and no partition has a new one
		assertThat(this.counts).containsExactly(1L, partitionIndexes);
	}

	@Test
	void attachingAPartitionsIndexTakesTheLocksItsLabelNames() {
		this.jdbc.execute("CREATE INDEX readings_at ON ONLY readings (at)");
		this.jdbc.execute("CREATE INDEX readings_at_2025 ON readings_2025 (at)");
		String sql = "ALTER INDEX readings_at ATTACH PARTITION readings_at_2025";
		StatementLock lock = label(sql);
		Map<String, Set<String>> locks = locksTakenBy(sql);
		assertThat(lock.table()).isEqualTo("readings_at_2025");
		assertThat(locks.get("readings_at_2025")).containsExactly(postgresMode(lock));
		assertThat(lock.also()).isEqualTo("readings_at");
		assertThat(locks.get("readings_at")).containsExactly("ShareUpdateExclusiveLock");
		assertThat(locks.get("readings")).containsExactly("AccessShareLock");
		assertThat(locks.get("readings_2025")).containsExactly("AccessShareLock");
		assertThat(lock.note()).contains("SHARE UPDATE EXCLUSIVE", "ACCESS SHARE");
	}

	@Test
	void uniqueConstraintOnTheParentTakesOverThePartitionsConstraintsWithoutBuildingAnIndex() {
		for (String partition : List.of("readings_2025", "readings_2026")) {
			this.jdbc.execute("CREATE UNIQUE INDEX " + partition + "_id ON " + partition + " (id, at)");
			this.jdbc.execute("ALTER TABLE " + partition + " ADD CONSTRAINT " + partition + "_id UNIQUE USING INDEX "
					+ partition + "_id");
		}
		String sql = "ALTER TABLE readings ADD CONSTRAINT readings_id UNIQUE (id, at)";
		StatementLock lock = label(sql);
		long partitionIndexes = this.jdbc.queryForObject(PARTITION_INDEXES, Long.class);
		Map<String, Set<String>> locks = locksTakenBy(sql,
				"SELECT count(*) FROM pg_constraint WHERE conname IN ('readings_2025_id', 'readings_2026_id') "
						+ "AND conparentid <> 0",
				PARTITION_INDEXES);
		assertThat(locks.get("readings")).contains(postgresMode(lock));
		assertThat(lock.note()).contains("builds no index when each partition already has a matching unique "
				+ "constraint (it takes them over)");
		// both partitions' constraints are taken over and no partition has a new index
		assertThat(this.counts).containsExactly(2L, partitionIndexes);
	}

	@Test
	void attachingATableLocksTheParentShareUpdateExclusiveAndTheTableAccessExclusive() {
		this.jdbc.execute("CREATE TABLE readings_2027 (id bigint NOT NULL, at date NOT NULL, kind text)");
		String sql = "ALTER TABLE readings ATTACH PARTITION readings_2027 FOR VALUES FROM ('2027-01-01') TO "
				+ "('2028-01-01')";
		StatementLock lock = label(sql);
		Map<String, Set<String>> locks = locksTakenBy(sql);
		assertThat(lock.table()).isEqualTo("readings");
		assertThat(locks.get("readings")).containsExactly(postgresMode(lock));
		assertThat(lock.also()).isEqualTo("readings_2027");
		assertThat(locks.get("readings_2027")).contains("AccessExclusiveLock");
		assertThat(lock.work()).isEqualTo(Work.SCAN);
		assertThat(lock.note()).contains("ACCESS EXCLUSIVE", "scans it");
	}

	private StatementLock label(String sql) {
		DdlScript script = new DdlScript(DdlStep.CONTRACT, MigrationVersion.fromVersion("1"), "V1__c.sql", "V1__c.sql",
				"V1__c.sql", 0, List.of(DdlStatement.of(1, sql)));
		Set<UnsafeOperation> unsafe = this.checker.checkAll(List.of(), List.of(script))
			.stream()
			.map((finding) -> finding.operation())
			.collect(Collectors.toSet());
		return StatementLock.of(DdlStatement.of(1, sql), unsafe);
	}

	// Runs the statement, reads this session's relation locks and the counts, rolls back.
	private Map<String, Set<String>> locksTakenBy(String sql, String... countQueries) {
		TransactionTemplate transaction = new TransactionTemplate(
				new DataSourceTransactionManager(postgres.dataSource()));
		return transaction.execute((status) -> {
			this.jdbc.execute(sql);
			Map<String, Set<String>> locks = this.jdbc
				.query("SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
						+ "WHERE l.pid = pg_backend_pid() AND l.granted",
						(row, index) -> Map.entry(row.getString(1), row.getString(2)))
				.stream()
				.collect(Collectors.groupingBy(Map.Entry::getKey,
						Collectors.mapping(Map.Entry::getValue, Collectors.toSet())));
			this.counts = Arrays.stream(countQueries)
				.map((query) -> this.jdbc.queryForObject(query, Long.class))
				.toList();
			status.setRollbackOnly();
			return locks;
		});
	}

	// ShareUpdateExclusiveLock for SHARE UPDATE EXCLUSIVE, and so on
	private static String postgresMode(StatementLock lock) {
		String[] words = lock.level().value().toLowerCase(Locale.ROOT).split(" ");
		StringBuilder mode = new StringBuilder();
		for (String word : words) {
			mode.append(Character.toUpperCase(word.charAt(0))).append(word.substring(1));
		}
		return mode.append("Lock").toString();
	}

}
