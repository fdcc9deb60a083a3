package dev.zdm.autoconfigure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import dev.zdm.actuate.endpoint.MigrationDescriptor;
import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests that reports of a session blocking zdm's DDL, or waited on by the application,
 * carry its query with its constants replaced by placeholders everywhere zdm shows or
 * stores it, unless asked otherwise; and that an expand statement given up at start-up is
 * reported by a failure analysis, not after Flyway's advice to restore backups.
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class BlockerReportTests {

	private static final String CARD = "4111111111111111";

	private static final String SSN = "078-05-1120";

	private static final String ID = "987654321";

	private static final List<String> LITERALS = List.of(CARD, SSN, ID);

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	static Path scripts;

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, MetricsAutoConfiguration.class,
				ZdmAutoConfiguration.class, ZdmEndpointAutoConfiguration.class))
		.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
		.withPropertyValues(postgres.springProperties())
		// The refusals that follow the expand fail start-up only when the expand runs at
		// start-up.
		.withPropertyValues("zdm.ddl.expand-at-startup=true")
		.withPropertyValues("management.endpoints.web.exposure.include=zdm", "zdm.fleet.heartbeat-interval=1h",
				"zdm.fleet.timeout=2h");

	@BeforeAll
	static void createTablesAndScripts() throws IOException {
		postgres.jdbc().execute("CREATE TABLE cards (id bigint PRIMARY KEY, number text, ssn text)");
		postgres.jdbc().execute("CREATE TABLE payments (id bigint PRIMARY KEY, card text, card_last4 text)");
		Files.createDirectories(scripts.resolve("expand"));
		Files.writeString(scripts.resolve("expand").resolve("V1__add_number_last4.sql"),
				"ALTER TABLE cards ADD COLUMN number_last4 text;");
	}

	@Test
	void expandGivenUpAtStartUpIsAnalyzedAndTheBlockersLiteralsAppearNowhere(CapturedOutput output) throws Exception {
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("UPDATE cards SET number = '" + CARD + "', ssn = E'" + SSN + "' WHERE id = " + ID);
			}
			this.contextRunner
				.withPropertyValues("zdm.migrations.cards-last4.table=cards",
						"zdm.migrations.cards-last4.up.number_last4=right(number, 4)",
						"zdm.migrations.cards-last4.expand=filesystem:" + scripts.resolve("expand").toAbsolutePath(),
						"zdm.ddl.lock-timeout=50ms", "zdm.ddl.max-attempts=3", "zdm.ddl.initial-backoff=10ms",
						"zdm.ddl.max-backoff=20ms")
				.run((context) -> {
					assertThat(context).hasFailed();
					Throwable failure = context.getStartupFailure();
					FailureAnalysis analysis = new DdlExecutionFailureAnalyzer().analyze(failure);
					assertThat(analysis).as("failure analysis of %s", failure).isNotNull();
					assertThat(analysis.getDescription()).contains("zdm gave up a DDL statement")
						.contains("timed out waiting for a lock on all 3 attempts")
						.contains("UPDATE cards SET number = $1, ssn = $2 WHERE id = $3")
						.contains("The statement was not applied");
					assertThat(analysis.getAction()).contains("End or fix the session(s) holding the lock")
						.contains("zdm.ddl.max-attempts");
					List<String> messages = new ArrayList<>();
					for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
						messages.add(String.valueOf(cause.getMessage()));
					}
					messages.add(analysis.getDescription());
					assertThat(messages).as("exception messages").allSatisfy(BlockerReportTests::hasNoLiteral);
				});
			blocker.rollback();
		}
		assertThat(output).contains("timed out waiting for a lock (lock_timeout 50 ms; the attempt took ")
			.contains("UPDATE cards SET number = $1, ssn = $2 WHERE id = $3")
			.doesNotContain("Please restore backups");
		hasNoLiteral(output.toString());
		List<String> stored = postgres.jdbc()
			.queryForList("SELECT t::text FROM zdm_ddl_blocker t UNION ALL SELECT t::text FROM zdm_ddl_lock_timeout t "
					+ "UNION ALL SELECT t::text FROM zdm_ddl_statement t UNION ALL SELECT t::text FROM zdm_ddl_step t",
					String.class);
		assertThat(postgres.jdbc().queryForList("SELECT query FROM zdm_ddl_blocker", String.class)).isNotEmpty()
			.allSatisfy((query) -> assertThat(query).isEqualTo("UPDATE cards SET number = $1, ssn = $2 WHERE id = $3"));
		assertThat(stored).as("zdm's tables").allSatisfy(BlockerReportTests::hasNoLiteral);
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_attribute WHERE attrelid = 'cards'::regclass "
					+ "AND attname = 'number_last4'", Integer.class))
			.as("the given-up column")
			.isZero();
	}

	@Test
	void endpointShowsTheBlockersQueryWithoutItsLiterals() throws Exception {
		assertThat(blockersShownByTheEndpoint(false)).singleElement()
			.asString()
			.contains("UPDATE payments SET card = $1 WHERE id = $2")
			.satisfies(BlockerReportTests::hasNoLiteral);
	}

	@Test
	void endpointShowsTheBlockersLiteralsWhenAskedTo() throws Exception {
		assertThat(blockersShownByTheEndpoint(true)).singleElement()
			.asString()
			.contains("UPDATE payments SET card = '" + CARD + "' WHERE id = " + ID);
	}

	private List<String> blockersShownByTheEndpoint(boolean showQueryLiterals) throws Exception {
		List<String> shown = new ArrayList<>();
		this.contextRunner
			.withPropertyValues("zdm.instance-id=shown", "zdm.migrations.payments-last4.table=payments",
					"zdm.migrations.payments-last4.up.card_last4=right(card, 4)",
					"zdm.migrations.payments-last4.backfill.enabled=false",
					"zdm.locks.show-query-literals=" + showQueryLiterals)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PhaseController controller = context.getBean(PhaseController.class);
				try (Connection blocker = postgres.database().newConnection();
						Connection waiter = postgres.database().newConnection()) {
					blocker.setAutoCommit(false);
					waiter.setAutoCommit(false);
					try (Statement statement = blocker.createStatement()) {
						statement.execute("UPDATE payments SET card = '" + CARD + "' WHERE id = " + ID);
					}
					CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
						try (Statement statement = waiter.createStatement()) {
							statement.execute("LOCK TABLE payments IN ACCESS EXCLUSIVE MODE");
						}
						catch (Exception ex) {
							throw new IllegalStateException(ex);
						}
					});
					try {
						await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
							controller.refresh();
							MigrationDescriptor migration = context.getBean(ZdmEndpoint.class)
								.migration("payments-last4");
							assertThat(migration.locks()).isNotNull();
							assertThat(migration.locks().blockers()).isNotEmpty();
							shown.clear();
							shown.addAll(migration.locks().blockers());
						});
					}
					finally {
						blocker.rollback();
						waiting.get(30, TimeUnit.SECONDS);
						waiter.rollback();
					}
				}
			});
		postgres.jdbc().execute("DELETE FROM zdm_migration");
		return shown;
	}

	private static void hasNoLiteral(String text) {
		for (String literal : LITERALS) {
			assertThat(text).doesNotContain(literal);
		}
	}

}
