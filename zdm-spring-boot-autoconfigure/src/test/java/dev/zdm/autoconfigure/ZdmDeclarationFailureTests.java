package dev.zdm.autoconfigure;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import dev.zdm.autoconfigure.ZdmAutoConfiguration;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that each bad declaration fails start-up with a message saying what is wrong and
 * what to do, and leaves the database as it was: no zdm table is created.
 */
class ZdmDeclarationFailureTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties());

	private static List<String> tablesBefore;

	@BeforeAll
	static void createApplicationTable() {
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text, email_address text)");
		postgres.jdbc().execute("CREATE TABLE events (payload text)");
		tablesBefore = tables();
	}

	@Test
	void unknownTable() {
		assertRefused("zdm.migrations.m.table=userz", "Migration 'm': table 'userz' does not exist",
				"Check zdm.migrations.m.table. Did you mean 'users'?");
	}

	@Test
	void unknownTableInANamedSchemaWhoseNameHasAnotherCase() {
		// the schema searched is the one named, and a name in another case is pointed at
		postgres.jdbc().execute("CREATE SCHEMA IF NOT EXISTS sales");
		postgres.jdbc().execute("CREATE TABLE IF NOT EXISTS sales.\"Order\" (id bigint PRIMARY KEY)");
		tablesBefore = tables();
		assertRefused("zdm.migrations.m.table=sales.order",
				"Migration 'm': table 'sales.order' does not exist (searched schema: sales)",
				"Did you mean 'sales.Order'? zdm takes a table's name as it is spelt, case included");
	}

	@Test
	void misspeltMigrationProperty() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.phse=dual-write"),
				"Migration 'm': unknown property zdm.migrations.m.phse",
				"Did you mean zdm.migrations.m.phase? Correct the name or remove the property.");
	}

	@Test
	void misspeltTopLevelProperty() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.enable=false"), "unknown property zdm.enable (",
				"Did you mean zdm.enabled? Correct the name or remove the property.");
	}

	@Test
	void misspeltPropertyOfAGroup() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.fleet.hearbeat-interval=1s"),
				"unknown property zdm.fleet.hearbeat-interval (",
				"Did you mean zdm.fleet.heartbeat-interval? Correct the name or remove the property. The settings of "
						+ "zdm.fleet are ");
	}

	@Test
	void misspeltMigrationId() {
		assertRefused(List.of("zdm.migrations.users-email.table=users", "zdm.migrations.users-emial.phase=dual-write"),
				"Migration 'users-emial': no table is declared, and migration 'users-email' is declared: "
						+ "is 'users-emial' a misspelling of 'users-email'?",
				"Correct the id in the zdm.migrations.users-emial.* properties (for example "
						+ "zdm.migrations.users-email.phase)");
	}

	@Test
	void phaseFromAnEnvironmentVariableWithoutTheDashOfTheId() {
		this.contextRunner.withPropertyValues("zdm.migrations.users-email.table=users")
			.withInitializer((context) -> context.getEnvironment()
				.getPropertySources()
				.addFirst(new SystemEnvironmentPropertySource(
						"test-" + StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
						Map.of("ZDM_MIGRATIONS_USERSEMAIL_PHASE", "dual-write"))))
			.run((context) -> {
				assertThat(context).hasFailed();
				FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
				assertThat(analysis).as("failure analysis").isNotNull();
				assertThat(analysis.getDescription())
					.contains("Migration 'users-email': migrations 'users-email' and 'usersemail' are one to Spring "
							+ "Boot's relaxed binding")
					.contains("ZDM_MIGRATIONS_USERSEMAIL_PHASE");
				assertThat(analysis.getAction())
					.contains("Set the phase of 'users-email' as zdm.migrations.users-email.phase");
			});
		assertThat(tables()).as("tables after a refused declaration").isEqualTo(tablesBefore);
	}

	@Test
	void idsThatDifferOnlyInADashAgainstAnUnderscore() {
		// zdm names its objects after the id with dashes as underscores: the two would
		// share one sync trigger function, and one table's writes would run the other's
		assertRefused(List.of("zdm.migrations.users-email.table=users", "zdm.migrations.users_email.table=users"),
				"migrations 'users-email' and 'users_email' differ only in a dash against an underscore",
				"Give one of them an id that differs from the other in a letter or a digit.");
	}

	@Test
	void misspeltNestedMigrationProperty() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.backfill.max-batch-sise=10"),
				"Migration 'm': unknown property zdm.migrations.m.backfill.max-batch-sise",
				"A migration's settings are ");
	}

	@Test
	void unknownColumn() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.down.emial=email_address"),
				"column 'emial' (an old column, zdm.migrations.m.down) does not exist in table 'public.users'",
				"Use one of the table's columns: id, email, email_address. Did you mean 'email'?");
	}

	@Test
	void unknownKeyColumn() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.key=uid"),
				"column 'uid' (a key column, zdm.migrations.m.key) does not exist", "Use one of the table's columns");
	}

	@Test
	void tableWithoutPrimaryKeyAndNoKey() {
		assertRefused("zdm.migrations.m.table=events", "table 'public.events' has no primary key",
				"CREATE UNIQUE INDEX CONCURRENTLY \"events_pkey\" ON \"public\".\"events\" (\"id\")");
	}

	@Test
	void keyColumnThatMayBeNull() {
		assertRefused(List.of("zdm.migrations.m.table=events", "zdm.migrations.m.key=payload"),
				"key column 'payload' (zdm.migrations.m.key) of table 'public.events' may be null",
				"Use not null columns as the key");
	}

	@Test
	void unknownPhase() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.phase=dual-wrte"),
				"Migration 'm': unknown phase 'dual-wrte'",
				"Set zdm.migrations.m.phase to one of: expand, dual-write, backfill, read-new, contract, abandon.");
	}

	@Test
	void invalidTableIdentifier() {
		assertRefused("zdm.migrations.m.table=users;drop table users",
				"'users;drop table users' in zdm.migrations.m.table is not a valid SQL identifier",
				"Use the name as the catalog stores it");
	}

	@Test
	void invalidColumnIdentifier() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up[email address]=lower(email)"),
				"'email address' in zdm.migrations.m.up is not a valid SQL identifier", "Use the name as the catalog");
	}

	@Test
	void invalidMigrationId() {
		assertRefused("zdm.migrations[bad id!].table=users", "'bad id!' is not a valid migration id",
				"letters, digits, '-' and '_'");
	}

	// without brackets, Spring Boot's binding drops the characters: the migration would
	// run as 'mx', and write that id in zdm's tables
	@Test
	void invalidMigrationIdWithoutBracketsIsRefusedAsWritten() {
		assertRefused("zdm.migrations.m x!.table=users",
				"'m x!' is not a valid migration id (property "
						+ "zdm.migrations.m x!.table, from test); Spring Boot would bind it under another id",
				"letters, digits, '-' and '_'");
	}

	@Test
	void migrationIdTooLongIsShownOnceAndShortened() {
		String id = "m".repeat(200);
		this.contextRunner.withPropertyValues("zdm.migrations." + id + ".table=users").run((context) -> {
			assertThat(context).hasFailed();
			FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
			assertThat(analysis.getDescription())
				.isEqualTo("'" + "m".repeat(40) + "... (200 characters)' is not a valid migration id");
			assertThat(analysis.getAction()).contains("at most 63 characters");
		});
		assertThat(tables()).as("tables after a refused declaration").isEqualTo(tablesBefore);
	}

	@Test
	void unsafeUpExpression() {
		assertRefused(
				List.of("zdm.migrations.m.table=users",
						"zdm.migrations.m.up.email_address=lower(email); DROP TABLE users"),
				"expression zdm.migrations.m.up.email_address = \"lower(email); DROP TABLE users\" is invalid: it contains ';'",
				"Write a single SQL expression");
	}

	@Test
	void upExpressionOverUnknownColumn() {
		assertRefused(List.of("zdm.migrations.m.table=users", "zdm.migrations.m.up.email_address=lower(mail)"),
				"expression zdm.migrations.m.up.email_address = \"lower(mail)\" names a column that table "
						+ "'public.users' has not: ERROR: column \"mail\" does not exist",
				"Use the table's columns in it: id, email, email_address. Did you mean 'email'?");
	}

	private void assertRefused(String property, String description, String action) {
		assertRefused(List.of(property), description, action);
	}

	private void assertRefused(List<String> properties, String description, String action) {
		this.contextRunner.withPropertyValues(properties.toArray(String[]::new)).run((context) -> {
			assertThat(context).hasFailed();
			FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
			assertThat(analysis).as("failure analysis").isNotNull();
			assertThat(analysis.getDescription()).contains(description);
			assertThat(analysis.getAction()).contains(action);
		});
		assertThat(tables()).as("tables after a refused declaration").isEqualTo(tablesBefore);
	}

	private static List<String> tables() {
		return postgres.jdbc()
			.queryForList(
					"SELECT table_schema || '.' || table_name FROM information_schema.tables "
							+ "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
					String.class);
	}

}
