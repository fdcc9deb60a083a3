package dev.zdm.internal.locks;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.migration.TableName;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link LockInspector} against a real PostgreSQL.
 */
@Isolated
class LockInspectorTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void transactionAgesAreNotNegativeWhenTheTransactionStartedAfterTheInspectingOne() throws Exception {
		postgres.jdbc().execute("CREATE TABLE inspected (id bigint PRIMARY KEY)");
		DataSource dataSource = postgres.newDataSource("inspector", 2);
		LockInspector inspector = new LockInspector(dataSource);
		TransactionTemplate transaction = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		try (Connection later = postgres.database().newConnection()) {
			int laterPid = pid(later);
			Object[] seen = transaction.execute((status) -> {
				// now() of the inspecting transaction is fixed here, before the other
				// transaction starts
				new JdbcTemplate(dataSource).queryForObject("SELECT now()", Object.class);
				sleep(Duration.ofMillis(300));
				try {
					later.setAutoCommit(false);
					try (Statement statement = later.createStatement()) {
						statement.execute("SELECT 1");
					}
				}
				catch (Exception ex) {
					throw new IllegalStateException(ex);
				}
				return new Object[] { inspector.oldestTransaction(),
						inspector.tableLockFigures(TableName.parse("inspected")) };
			});
			LockInspector.OldestTransaction oldest = (LockInspector.OldestTransaction) seen[0];
			TableLockFigures figures = (TableLockFigures) seen[1];
			assertThat(oldest.pid()).isEqualTo(laterPid);
			assertThat(oldest.age()).isGreaterThanOrEqualTo(Duration.ZERO).isLessThan(Duration.ofSeconds(30));
			assertThat(figures.oldestTransactionPid()).isEqualTo(laterPid);
			assertThat(figures.oldestTransactionAge()).isGreaterThanOrEqualTo(Duration.ZERO);
			later.rollback();
		}
	}

	@Test
	void waitersOnAPartitionCountAsWaitersOnItsPartitionedTable() throws Exception {
		postgres.jdbc().execute("CREATE TABLE parted (id bigint PRIMARY KEY) PARTITION BY RANGE (id)");
		postgres.jdbc().execute("CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)");
		postgres.jdbc().execute("CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (100) TO (200)");
		LockInspector inspector = new LockInspector(postgres.dataSource());
		try (Connection holder = postgres.database().newConnection();
				Connection writer = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("LOCK TABLE parted_2 IN ACCESS EXCLUSIVE MODE");
			}
			int holderPid = pid(holder);
			// the insert locks the parent, then waits for the partition
			Thread insert = waiting(writer, "INSERT INTO parted VALUES (150)");
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> inspector.tableLockFigures(TableName.parse("parted")).waitingSessions() == 1);
			TableLockFigures figures = inspector.tableLockFigures(TableName.parse("parted"));
			assertThat(figures.blockers()).extracting(BlockingSession::pid).containsExactly(holderPid);
			assertThat(inspector.tableLockFigures(TableName.parse("parted_1")).waitingSessions()).isZero();
			holder.rollback();
			insert.join(10_000);
		}
		assertThat(postgres.jdbc().queryForObject("SELECT count(*) FROM parted", Long.class)).isOne();
	}

	// an update queued behind a row another transaction changed waits for that
	// transaction's id (a transactionid lock), the next one for the row (a tuple lock):
	// neither waits for a lock on the table itself, and an outside run saw 0 waiters
	@Test
	void sessionsQueuedOnARowOfTheTableCountAsWaitersWithTheirBlockers() throws Exception {
		postgres.jdbc().execute("CREATE TABLE rowlocked (id bigint PRIMARY KEY, name text)");
		postgres.jdbc().execute("CREATE TABLE elsewhere (id bigint PRIMARY KEY)");
		postgres.jdbc().execute("INSERT INTO rowlocked SELECT i, 'n' || i FROM generate_series(1, 100) i");
		LockInspector inspector = new LockInspector(postgres.dataSource());
		try (Connection holder = postgres.database().newConnection();
				Connection first = postgres.database().newConnection();
				Connection second = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("UPDATE rowlocked SET name = 'x' WHERE id = 50");
			}
			int holderPid = pid(holder);
			int firstPid = pid(first);
			Thread firstUpdate = waiting(first, "UPDATE rowlocked SET name = 'y' WHERE id = 50");
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> waitsFor(firstPid).equals("transactionid"));
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> inspector.tableLockFigures(TableName.parse("rowlocked")).waitingSessions() == 1);
			TableLockFigures one = inspector.tableLockFigures(TableName.parse("rowlocked"));
			assertThat(one.blockers()).extracting(BlockingSession::pid).containsExactly(holderPid);
			assertThat(one.longestWait()).isPositive();
			Thread secondUpdate = waiting(second, "UPDATE rowlocked SET name = 'z' WHERE id = 50");
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> inspector.tableLockFigures(TableName.parse("rowlocked")).waitingSessions() == 2);
			TableLockFigures two = inspector.tableLockFigures(TableName.parse("rowlocked"));
			// the second waits for the row's tuple lock, which the first holds
			assertThat(two.blockers()).extracting(BlockingSession::pid).containsExactly(holderPid, firstPid);
			assertThat(inspector.tableLockFigures(TableName.parse("elsewhere")).waitingSessions()).isZero();
			holder.rollback();
			firstUpdate.join(10_000);
			secondUpdate.join(10_000);
		}
		assertThat(postgres.jdbc().queryForObject("SELECT name FROM rowlocked WHERE id = 50", String.class))
			.isEqualTo("z");
	}

	@Test
	void sessionsQueuedOnARowOfAPartitionCountAsWaitersOnItsPartitionedTable() throws Exception {
		postgres.jdbc().execute("CREATE TABLE rowparted (id bigint PRIMARY KEY, name text) PARTITION BY RANGE (id)");
		postgres.jdbc().execute("CREATE TABLE rowparted_1 PARTITION OF rowparted FOR VALUES FROM (0) TO (100)");
		postgres.jdbc().execute("CREATE TABLE rowparted_2 PARTITION OF rowparted FOR VALUES FROM (100) TO (200)");
		postgres.jdbc().execute("INSERT INTO rowparted SELECT i, 'n' || i FROM generate_series(0, 199) i");
		LockInspector inspector = new LockInspector(postgres.dataSource());
		try (Connection holder = postgres.database().newConnection();
				Connection writer = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("UPDATE rowparted SET name = 'x' WHERE id = 150");
			}
			int holderPid = pid(holder);
			int writerPid = pid(writer);
			Thread update = waiting(writer, "UPDATE rowparted_2 SET name = 'y' WHERE id = 150");
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> waitsFor(writerPid).equals("transactionid"));
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> inspector.tableLockFigures(TableName.parse("rowparted")).waitingSessions() == 1);
			assertThat(inspector.tableLockFigures(TableName.parse("rowparted")).blockers())
				.extracting(BlockingSession::pid)
				.containsExactly(holderPid);
			assertThat(inspector.tableLockFigures(TableName.parse("rowparted_2")).waitingSessions()).isOne();
			assertThat(inspector.tableLockFigures(TableName.parse("rowparted_1")).waitingSessions()).isZero();
			holder.rollback();
			update.join(10_000);
		}
	}

	private static String waitsFor(int pid) {
		return postgres.jdbc()
			.queryForList("SELECT locktype FROM pg_locks WHERE pid = ? AND NOT granted", String.class, pid)
			.stream()
			.findFirst()
			.orElse("");
	}

	@Test
	void blockersQueuedForTheLockThemselvesComeAfterItsHolderAndSaySo() throws Exception {
		postgres.jdbc().execute("CREATE TABLE queued (id bigint PRIMARY KEY)");
		LockInspector inspector = new LockInspector(postgres.dataSource());
		try (Connection holder = postgres.database().newConnection();
				Connection writer = postgres.database().newConnection();
				Connection ddl = postgres.database().newConnection()) {
			holder.setAutoCommit(false);
			try (Statement statement = holder.createStatement()) {
				statement.execute("LOCK TABLE queued IN SHARE MODE");
			}
			int holderPid = pid(holder);
			int writerPid = pid(writer);
			int ddlPid = pid(ddl);
			// an application write queues behind the holder, then the DDL behind both
			Thread insert = waiting(writer, "INSERT INTO queued VALUES (1)");
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> inspector.tableLockFigures(TableName.parse("queued")).waitingSessions() == 1);
			Thread alter = waiting(ddl, "ALTER TABLE queued ADD COLUMN note text");
			org.awaitility.Awaitility.await()
				.atMost(Duration.ofSeconds(10))
				.until(() -> inspector.blockersOf(ddlPid).size() == 2);
			assertThat(inspector.blockersOf(ddlPid)).satisfiesExactly((first) -> {
				assertThat(first.pid()).isEqualTo(holderPid);
				assertThat(first.state()).isEqualTo("idle in transaction");
			}, (second) -> {
				assertThat(second.pid()).isEqualTo(writerPid);
				assertThat(second.state()).isEqualTo("active, itself queued for a lock");
				// the time is the state's, not the queue's: it stands with the state
				assertThat(second.describe()).startsWith("pid " + writerPid + " (active for PT")
					.contains("S, itself queued for a lock, application '");
			});
			holder.rollback();
			insert.join(10_000);
			alter.join(10_000);
		}
	}

	private static Thread waiting(Connection connection, String sql) {
		Thread thread = new Thread(() -> {
			try (Statement statement = connection.createStatement()) {
				statement.execute(sql);
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		});
		thread.start();
		return thread;
	}

	private static int pid(Connection connection) throws Exception {
		try (Statement statement = connection.createStatement();
				ResultSet rs = statement.executeQuery("SELECT pg_backend_pid()")) {
			rs.next();
			return rs.getInt(1);
		}
	}

	private static void sleep(Duration duration) {
		try {
			Thread.sleep(duration.toMillis());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
