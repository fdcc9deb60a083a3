package dev.zdm.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.internal.ddl.ContractRunner;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.DdlStatus;
import dev.zdm.internal.ddl.ExpandProgress;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for the lock-safe DDL part of {@link ZdmAutoConfiguration}.
 */
class DdlAutoConfigurationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties());

	@BeforeAll
	static void createTable() {
		postgres.jdbc().execute("CREATE TABLE subscribers (id bigint PRIMARY KEY, email text)");
	}

	@Test
	void ddlSettingsDefaultToAShortLockTimeout() {
		this.contextRunner.run((context) -> {
			assertThat(context).hasSingleBean(ExpandRunner.class)
				.hasSingleBean(ContractRunner.class)
				.hasSingleBean(DdlHistoryRepository.class);
			DdlSettings settings = context.getBean(DdlSettings.class);
			assertThat(settings.lockTimeout()).isLessThanOrEqualTo(Duration.ofMillis(100));
			assertThat(settings).isEqualTo(DdlSettings.defaults());
		});
	}

	@Test
	void ddlSettingsCanBeConfigured() {
		this.contextRunner
			.withPropertyValues("zdm.ddl.lock-timeout=50ms", "zdm.ddl.statement-timeout=1m", "zdm.ddl.max-attempts=7",
					"zdm.ddl.initial-backoff=20ms", "zdm.ddl.max-backoff=2s", "zdm.ddl.jitter=0.25")
			.run((context) -> assertThat(context.getBean(DdlSettings.class)).isEqualTo(DdlSettings.defaults()
				.withLockTimeout(Duration.ofMillis(50))
				.withStatementTimeout(Duration.ofMinutes(1))
				.withMaxAttempts(7)
				.withBackoff(Duration.ofMillis(20), Duration.ofSeconds(2))
				.withJitter(0.25)));
	}

	@Test
	void expandScriptsFromTheClasspathRunInTheBackground() {
		this.contextRunner
			.withPropertyValues("zdm.migrations.subscribers-email.table=subscribers",
					"zdm.migrations.subscribers-email.phase=dual-write", "zdm.fleet.heartbeat-interval=100ms",
					"zdm.migrations.subscribers-email.up.email_address=lower(email)",
					"zdm.migrations.subscribers-email.expand=classpath:db/zdm/subscribers-email/expand",
					"zdm.migrations.subscribers-email.contract=classpath:db/zdm/subscribers-email/contract")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(30))
					.until(() -> controller.status("subscribers-email").effective() == Phase.DUAL_WRITE);
				assertThat(columns("subscribers")).contains("email_address");
				assertThat(context.getBean(DdlHistoryRepository.class)
					.status("subscribers-email", 1)
					.step(DdlStep.EXPAND)
					.isDone()).isTrue();
				assertThat(context.getBean(ExpandRunner.class).expandProgress("subscribers-email").state())
					.isEqualTo(ExpandProgress.State.DONE);
			});
	}

	@Test
	void expandAtStartUpRunsBeforeTheContextIsReady(@TempDir Path scripts) throws Exception {
		postgres.jdbc().execute("CREATE TABLE batch_subscribers (id bigint PRIMARY KEY, email text)");
		Files.writeString(scripts.resolve("V1__add_email_address.sql"),
				"ALTER TABLE batch_subscribers ADD COLUMN email_address text;");
		this.contextRunner
			.withPropertyValues("zdm.ddl.expand-at-startup=true", "zdm.migrations.batch-email.table=batch_subscribers",
					"zdm.migrations.batch-email.phase=dual-write",
					"zdm.migrations.batch-email.up.email_address=lower(email)",
					"zdm.migrations.batch-email.expand=filesystem:" + scripts.toAbsolutePath())
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(columns("batch_subscribers")).contains("email_address");
				assertThat(context.getBean(PhaseController.class).status("batch-email").effective())
					.isEqualTo(Phase.DUAL_WRITE);
			});
	}

	@Test
	void declaredColumnThatUpDerivesNeedsNoExpandScript(@TempDir Path contract) throws Exception {
		postgres.jdbc().execute("CREATE TABLE scored_customers (id bigint PRIMARY KEY, score text)");
		postgres.jdbc().execute("INSERT INTO scored_customers VALUES (1, '5'), (2, '')");
		Files.writeString(contract.resolve("V1__drop_score.sql"), "ALTER TABLE scored_customers DROP COLUMN score;");
		this.contextRunner
			.withPropertyValues("zdm.migrations.customers-score.table=scored_customers",
					"zdm.migrations.customers-score.phase=dual-write", "zdm.fleet.heartbeat-interval=100ms",
					"zdm.migrations.customers-score.columns.score_num.type=integer",
					"zdm.migrations.customers-score.up.score_num=nullif(score,'')::integer",
					"zdm.migrations.customers-score.down.score=score_num::text",
					"zdm.migrations.customers-score.contract=filesystem:" + contract.toAbsolutePath())
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				await().atMost(Duration.ofSeconds(30))
					.until(() -> controller.status("customers-score").effective() == Phase.DUAL_WRITE);
				assertThat(
						postgres.jdbc()
							.queryForObject("SELECT data_type FROM information_schema.columns WHERE table_name = "
									+ "'scored_customers' AND column_name = 'score_num'", String.class))
					.isEqualTo("integer");
				// the sync trigger installed with the expand derives the declared column
				postgres.jdbc().update("INSERT INTO scored_customers (id, score) VALUES (3, '7')");
				assertThat(postgres.jdbc()
					.queryForObject("SELECT score_num FROM scored_customers WHERE id = 3", Integer.class)).isEqualTo(7);
			});
	}

	@Test
	void pausedExpandDoesNotRunAndHoldsTheMigrationAtExpand(@TempDir Path scripts) throws Exception {
		postgres.jdbc().execute("CREATE TABLE paused_subscribers (id bigint PRIMARY KEY, email text)");
		Files.writeString(scripts.resolve("V1__add_email_address.sql"),
				"ALTER TABLE paused_subscribers ADD COLUMN email_address text;");
		this.contextRunner
			.withPropertyValues("zdm.migrations.paused-email.table=paused_subscribers",
					"zdm.migrations.paused-email.phase=dual-write", "zdm.migrations.paused-email.expand-paused=true",
					"zdm.migrations.paused-email.expand=filesystem:" + scripts.toAbsolutePath())
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				controller.refresh();
				assertThat(controller.status("paused-email").effective()).isEqualTo(Phase.EXPAND);
				assertThat(controller.status("paused-email").heldBackReason())
					.contains("is paused by zdm.migrations.paused-email.expand-paused");
				assertThat(columns("paused_subscribers")).doesNotContain("email_address");
			});
	}

	@Test
	void unsafeExpandScriptFailsStartUpUnlessAllowed() {
		ApplicationContextRunner unsafe = this.contextRunner.withPropertyValues(
				"zdm.migrations.subscribers-index.table=subscribers",
				"zdm.migrations.subscribers-index.expand=classpath:db/zdm/subscribers-index/expand");
		unsafe.run((context) -> assertThat(context).getFailure()
			.rootCause()
			.isInstanceOf(ZdmConfigurationException.class)
			.hasMessageContaining("CREATE INDEX subscribers_email ON subscribers (email)")
			.hasMessageContaining("(create-index)"));
		unsafe.withPropertyValues("zdm.migrations.subscribers-index.allow-unsafe=create-index")
			.run((context) -> assertThat(context).hasNotFailed());
	}

	@Test
	void allowWithoutReasonFailsStartUpWhenRequiredAndTheReasonIsRecordedWithTheStatement(@TempDir Path scripts)
			throws Exception {
		postgres.jdbc().execute("CREATE TABLE reasoned_subscribers (id bigint PRIMARY KEY, email text)");
		Path script = scripts.resolve("V1__index_email.sql");
		Files.writeString(script, """
				ALTER TABLE reasoned_subscribers ADD COLUMN email_address text;
				-- zdm:allow create-index
				CREATE INDEX reasoned_email ON reasoned_subscribers (email);
				""");
		ApplicationContextRunner runner = this.contextRunner.withPropertyValues("zdm.ddl.expand-at-startup=true",
				"zdm.ddl.require-allow-reason=true", "zdm.migrations.reasoned.table=reasoned_subscribers",
				"zdm.migrations.reasoned.phase=dual-write", "zdm.migrations.reasoned.up.email_address=lower(email)",
				"zdm.migrations.reasoned.expand=filesystem:" + scripts.toAbsolutePath());
		runner.run((context) -> assertThat(context).getFailure()
			.rootCause()
			.isInstanceOf(ZdmConfigurationException.class)
			.hasMessageContaining("Migration 'reasoned': a -- zdm:allow comment gives no reason, which "
					+ "zdm.ddl.require-allow-reason=true requires; nothing has run:\n"
					+ "  - V1__index_email.sql line 2: -- zdm:allow create-index")
			.satisfies((ex) -> assertThat(((ZdmConfigurationException) ex).getAction())
				.contains("'-- zdm:allow create-index: the table has 40 rows'")));
		assertThat(columns("reasoned_subscribers")).doesNotContain("email_address");
		assertThat(postgres.jdbc()
			.queryForObject("SELECT to_regclass('zdm_ddl_statement') IS NOT NULL AND EXISTS (SELECT 1 FROM "
					+ "zdm_ddl_statement WHERE migration_id = 'reasoned')", Boolean.class))
			.isFalse();
		Files.writeString(script, """
				ALTER TABLE reasoned_subscribers ADD COLUMN email_address text;
				-- zdm:allow create-index: the table has 40 rows
				CREATE INDEX reasoned_email ON reasoned_subscribers (email);
				""");
		runner.run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(new DdlHistoryRepository(postgres.dataSource()).status("reasoned", 10).statements())
				.filteredOn((statement) -> statement.source().equals("V1__index_email.sql"))
				.extracting(DdlStatus.Statement::allowed)
				.containsExactly(null, "create-index: the table has 40 rows");
		});
	}

	@Test
	void unknownAllowanceFailsStartUp() {
		this.contextRunner
			.withPropertyValues("zdm.migrations.bad.table=subscribers",
					"zdm.migrations.bad.allow-unsafe=create-indexes")
			.run((context) -> assertThat(context).getFailure()
				.rootCause()
				.isInstanceOf(ZdmConfigurationException.class)
				.hasMessageContaining("unknown unsafe operation 'create-indexes'"));
	}

	private static List<String> columns(String table) {
		return postgres.jdbc()
			.queryForList("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 "
					+ "AND NOT attisdropped", String.class, table);
	}

}
