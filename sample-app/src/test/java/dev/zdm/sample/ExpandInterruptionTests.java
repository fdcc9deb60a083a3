package dev.zdm.sample;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.sample.deploy.ApplicationInstances;
import dev.zdm.sample.deploy.SampleDatabase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The expand DDL interrupted for real: an instance of the sample in a JVM of its own,
 * killed in the middle of a {@code CREATE INDEX CONCURRENTLY}, or sent a stop signal
 * while its start-up expand waits for a lock.
 */
@Isolated
class ExpandInterruptionTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String MIGRATION = "customers-email";

	@RegisterExtension
	final ApplicationInstances instances = new ApplicationInstances(SampleApplication.class, postgres, MIGRATION,
			"phase=dual-write");

	@BeforeEach
	void emptyDatabase() {
		// A backend a killed instance left running (a concurrent index build waits for
		// the DROP's transaction while the DROP waits for its lock: a deadlock) is ended
		// first; the test's own idle pool connections are left alone.
		JdbcTemplate jdbc = postgres.jdbc();
		String others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
				+ "AND backend_type = 'client backend' AND state <> 'idle'";
		jdbc.queryForList("SELECT pg_terminate_backend(pid) " + others, Boolean.class);
		await().atMost(Duration.ofSeconds(30)).until(() -> count("SELECT count(*) " + others) == 0);
		jdbc.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	}

	@Test
	void concurrentIndexBuildInterruptedByKillingTheInstanceIsCompletedByTheNextOne() throws Exception {
		SampleDatabase.createCustomers(postgres, 1000);
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("ALTER TABLE customers ADD COLUMN email_address text");
		String expand = this.instances.script("V1__index_email_address.sql",
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_email_address ON customers (email_address);");
		ConfigurableApplicationContext next = null;
		try (Connection writer = postgres.database().newConnection()) {
			// A write transaction open before the build: the build waits for it, so it is
			// caught in the middle.
			writer.setAutoCommit(false);
			try (Statement statement = writer.createStatement()) {
				statement.execute("UPDATE customers SET name = name WHERE id = 1");
			}
			// The sample's other migration, customers-address, is paused on this
			// instance:
			// its CREATE TABLE ... REFERENCES customers would wait behind the writer for
			// the 300 s lock timeout, and the build's lock request would queue behind it.
			Process first = this.instances.launch("first", "expand=" + expand, "zdm.ddl.lock-timeout=300s",
					"zdm.migrations.customers-address.expand-paused=true");
			await().atMost(Duration.ofMinutes(4))
				.until(() -> !first.isAlive()
						|| count("SELECT count(*) FROM pg_stat_progress_create_index p JOIN pg_class c "
								+ "ON c.oid = p.index_relid WHERE c.relname = 'customers_email_address'") == 1);
			assertThat(first.isAlive())
				.as("the first instance builds the index; its log: %s", this.instances.log("first"))
				.isTrue();
			Integer buildingPid = jdbc.queryForObject(
					"SELECT pid FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.index_relid "
							+ "WHERE c.relname = 'customers_email_address'",
					Integer.class);
			first.destroyForcibly();
			assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
			// The killed instance's session goes with it, as PostgreSQL ends it once it
			// sees the client gone.
			jdbc.queryForObject("SELECT pg_terminate_backend(?)", Boolean.class, buildingPid);
			await().atMost(Duration.ofSeconds(30))
				.until(() -> count("SELECT count(*) FROM pg_stat_activity WHERE pid = " + buildingPid) == 0);
			assertThat(invalidIndexes()).as("the interrupted build left an invalid index")
				.containsExactly("customers_email_address");
			writer.commit();

			next = this.instances.start("next", "expand=" + expand);
			PhaseController controller = next.getBean(PhaseController.class);
			await().atMost(Duration.ofSeconds(60))
				.until(() -> controller.status(MIGRATION).effective() == Phase.DUAL_WRITE);
		}
		finally {
			if (next != null) {
				next.close();
			}
		}
		assertThat(invalidIndexes()).isEmpty();
		assertThat(count("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
				+ "WHERE c.relname = 'customers_email_address' AND i.indisvalid"))
			.isOne();
		assertThat(jdbc.queryForObject("SELECT state FROM zdm_ddl_statement WHERE migration_id = ? AND source = ?",
				String.class, MIGRATION, "V1__index_email_address.sql"))
			.isEqualTo("applied");
	}

	@Test
	void stopSignalWhileTheStartUpExpandWaitsForALockEndsStartUpWithinSecondsWithNothingHalfApplied() throws Exception {
		SampleDatabase.createCustomers(postgres, 1000);
		JdbcTemplate jdbc = postgres.jdbc();
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM customers");
			}
			Process batch = this.instances.launch("batch", "zdm.ddl.expand-at-startup=true",
					"zdm.ddl.max-attempts=100000", "zdm.ddl.initial-backoff=50ms", "zdm.ddl.max-backoff=500ms");
			await().atMost(Duration.ofMinutes(4))
				.until(() -> !batch.isAlive() || (tableExists("zdm_ddl_lock_timeout")
						&& count("SELECT count(*) FROM zdm_ddl_lock_timeout") >= 3));
			assertThat(batch.isAlive()).as("start-up waits for the expand; its log: %s", this.instances.log("batch"))
				.isTrue();
			long signalled = System.nanoTime();
			batch.destroy();
			assertThat(batch.waitFor(15, TimeUnit.SECONDS))
				.as("the process ends after the stop signal; its log: %s", this.instances.log("batch"))
				.isTrue();
			Duration stopped = Duration.ofNanos(System.nanoTime() - signalled);
			System.out.println("Start-up ended " + stopped.toMillis() + " ms after the stop signal, exit code "
					+ batch.exitValue());
			assertThat(stopped).isLessThan(Duration.ofSeconds(10));
			assertThat(columns()).doesNotContain("email_address");
			assertThat(jdbc.queryForList("SELECT state FROM zdm_ddl_statement WHERE migration_id = ?", String.class,
					MIGRATION))
				.containsExactly("failed");
			assertThat(jdbc.queryForObject("SELECT state FROM zdm_ddl_step WHERE migration_id = ? AND step = 'expand'",
					String.class, MIGRATION))
				.isEqualTo("failed");
			assertThat(count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE customers%' "
					+ "AND state = 'active'"))
				.isZero();
			blocker.commit();
		}
		ConfigurableApplicationContext next = this.instances.start("after-batch", "zdm.ddl.expand-at-startup=true");
		try {
			assertThat(columns()).as("the next start-up runs the expand").contains("email_address");
		}
		finally {
			next.close();
		}
	}

	private static List<String> invalidIndexes() {
		return postgres.jdbc()
			.queryForList("SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
					+ "WHERE NOT i.indisvalid", String.class);
	}

	private static List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'",
					String.class);
	}

	private static boolean tableExists(String table) {
		return Boolean.TRUE
			.equals(postgres.jdbc().queryForObject("SELECT to_regclass(?) IS NOT NULL", Boolean.class, table));
	}

	private static int count(String sql) {
		Integer count = postgres.jdbc().queryForObject(sql, Integer.class);
		return (count != null) ? count : 0;
	}

}
