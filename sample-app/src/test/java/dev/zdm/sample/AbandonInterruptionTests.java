package dev.zdm.sample;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.AbandonProgress;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.sample.deploy.ApplicationInstances;
import dev.zdm.sample.deploy.SampleDatabase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An abandon interrupted for real: the instance dropping what the expand created, in a
 * JVM of its own, is killed while a drop waits for a lock another session holds, with
 * part of the drops applied; the instance that starts next finishes it, and the schema is
 * the one before the expand.
 */
@Isolated
class AbandonInterruptionTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String MIGRATION = "customers-email";

	// What the application sees of the schema, zdm's own tables left out (its sync
	// trigger and function are in).
	private static final String SCHEMA = """
			SELECT 'relation ' || c.relname || ' ' || c.relkind::text FROM pg_class c
			WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'zdm\\_%'
			UNION ALL
			SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'zdm\\_%' AND a.attnum > 0
			  AND NOT a.attisdropped
			UNION ALL
			SELECT 'constraint ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
			FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
			WHERE co.connamespace = 'public'::regnamespace AND c.relname NOT LIKE 'zdm\\_%'
			UNION ALL
			SELECT 'trigger ' || t.tgrelid::regclass || '.' || t.tgname FROM pg_trigger t WHERE NOT t.tgisinternal
			UNION ALL
			SELECT 'function ' || p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
			ORDER BY 1
			""";

	@RegisterExtension
	final ApplicationInstances instances = new ApplicationInstances(SampleApplication.class, postgres, MIGRATION,
			"zdm.migrations.customers-address.expand-paused=true",
			"zdm.migrations." + MIGRATION + ".abandon-reason=the e-mail rename is postponed");

	@Test
	void abandonInterruptedByKillingTheInstanceMidDropIsFinishedByTheNextOne() throws Exception {
		SampleDatabase.createCustomers(postgres, 1000);
		JdbcTemplate jdbc = postgres.jdbc();
		List<String> beforeExpand = jdbc.queryForList(SCHEMA, String.class);
		String expand = "expand=" + this.instances.script("V1__email_address_and_audit.sql", """
				ALTER TABLE customers ADD COLUMN email_address text;
				CREATE TABLE customers_email_audit (customer_id bigint PRIMARY KEY, changed_at timestamptz);
				""");
		try (ConfigurableApplicationContext expanded = this.instances.start("expander", "phase=dual-write", expand)) {
			PhaseController controller = expanded.getBean(PhaseController.class);
			await().atMost(Duration.ofSeconds(60))
				.until(() -> controller.status(MIGRATION).effective() == Phase.DUAL_WRITE);
		}
		assertThat(jdbc.queryForList(SCHEMA, String.class)).contains("trigger customers.zdm_sync_customers_email",
				"column customers.email_address text", "relation customers_email_audit r");
		try (Connection blocker = postgres.database().newConnection()) {
			// The drops run in the reverse order of the expand: the trigger and its
			// function, then the audit table, which this open transaction keeps, then the
			// column.
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM customers_email_audit");
			}
			Process first = this.instances.launch("first", "phase=abandon", expand, "zdm.ddl.lock-timeout=200ms",
					"zdm.ddl.max-attempts=100000", "zdm.ddl.initial-backoff=50ms", "zdm.ddl.max-backoff=500ms");
			await().atMost(Duration.ofMinutes(3))
				.until(() -> !first.isAlive() || count("SELECT count(*) FROM zdm_ddl_lock_timeout "
						+ "WHERE migration_id = '" + MIGRATION + "' AND step = 'abandon'") >= 3);
			assertThat(first.isAlive()).as("the first instance drops; its log: %s", this.instances.log("first"))
				.isTrue();
			first.destroyForcibly();
			assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
			List<String> midway = jdbc.queryForList(SCHEMA, String.class);
			assertThat(midway).as("the trigger is dropped")
				.noneMatch((line) -> line.contains("zdm_sync_customers_email"));
			assertThat(midway).as("the table and the column are not")
				.contains("relation customers_email_audit r", "column customers.email_address text");
			assertThat(jdbc.queryForObject("SELECT state FROM zdm_ddl_step WHERE migration_id = ? AND step = 'abandon'",
					String.class, MIGRATION))
				.isEqualTo("running");
			blocker.commit();
		}
		try (ConfigurableApplicationContext next = this.instances.start("next", "phase=abandon", expand)) {
			AbandonRunner runner = next.getBean(AbandonRunner.class);
			await().atMost(Duration.ofSeconds(60))
				.until(() -> runner.progress(MIGRATION) != null
						&& runner.progress(MIGRATION).state().equals(AbandonProgress.DONE));
			assertThat(next.getBean(PhaseController.class).status(MIGRATION).effective()).isEqualTo(Phase.EXPAND);
		}
		assertThat(jdbc.queryForList(SCHEMA, String.class)).isEqualTo(beforeExpand);
		assertThat(jdbc.queryForList(
				"SELECT DISTINCT state FROM zdm_ddl_statement WHERE migration_id = ? " + "AND step = 'abandon'",
				String.class, MIGRATION))
			.containsExactly("applied");
		assertThat(jdbc.queryForObject("SELECT abandoned_by FROM zdm_migration WHERE migration_id = ?", String.class,
				MIGRATION))
			.isEqualTo("first");
	}

	private static int count(String sql) {
		Integer count = postgres.jdbc().queryForObject(sql, Integer.class);
		return (count != null) ? count : 0;
	}

}
