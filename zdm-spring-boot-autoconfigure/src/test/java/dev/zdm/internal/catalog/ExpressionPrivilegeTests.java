package dev.zdm.internal.catalog;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.Driver;

import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests that an expression the application's database user may not check (a function it
 * may not execute, temporary tables it may not create) is refused as a missing privilege,
 * with the grant to give, and not as an expression that is wrong.
 */
class ExpressionPrivilegeTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static SimpleDriverDataSource limited;

	@BeforeAll
	static void createTableAndRole() {
		postgres.jdbc().execute("CREATE TABLE accounts (id bigint PRIMARY KEY, email text, email_address text)");
		postgres.jdbc()
			.execute(
					"CREATE FUNCTION vault_lower(value text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(value)'");
		postgres.jdbc().execute("REVOKE EXECUTE ON FUNCTION vault_lower(text) FROM PUBLIC");
		postgres.jdbc().execute("CREATE ROLE zdm_checker LOGIN PASSWORD 'checker'");
		postgres.jdbc().execute("GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO zdm_checker");
		// the URL names the superuser as a parameter, which would win over the role given
		String url = postgres.database().url().replaceFirst("\\?.*", "");
		limited = new SimpleDriverDataSource(new Driver(), url, "zdm_checker", "checker");
	}

	@Test
	void aFunctionTheUserMayNotExecuteIsAMissingGrantNotANonDeterministicExpression() {
		MigrationValidator validator = new MigrationValidator(new DatabaseCatalog(limited));
		MigrationDefinition migration = MigrationDefinition.builder("accounts-email")
			.table("accounts")
			.up("email_address", "vault_lower(email)")
			.build();
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> validator.validateBeforeExpand(migration, false))
			.satisfies((ex) -> {
				assertThat(ex.getDescription()).isEqualTo("Migration 'accounts-email': zdm could not check expression "
						+ "zdm.migrations.accounts-email.up.email_address = \"vault_lower(email)\": ERROR: "
						+ "permission denied for function vault_lower");
				assertThat(ex.getAction()).contains("GRANT EXECUTE ON FUNCTION").contains("nothing has been written");
			});
	}

	@Test
	void temporaryTablesTheUserMayNotCreateAreAMissingGrantNotANonDeterministicExpression() {
		postgres.jdbc()
			.execute("REVOKE TEMPORARY ON DATABASE "
					+ postgres.jdbc().queryForObject("SELECT quote_ident(current_database())", String.class)
					+ " FROM PUBLIC");
		MigrationValidator validator = new MigrationValidator(new DatabaseCatalog(limited));
		MigrationDefinition migration = MigrationDefinition.builder("accounts-email")
			.table("accounts")
			.up("email_address", "lower(email)")
			.build();
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> validator.validateBeforeExpand(migration, false))
			.satisfies((ex) -> {
				assertThat(ex.getDescription()).startsWith("Migration 'accounts-email': zdm could not check expression "
						+ "zdm.migrations.accounts-email.up.email_address = \"lower(email)\": ERROR: permission denied "
						+ "to create temporary tables")
					.doesNotContain("deterministic");
				assertThat(ex.getAction()).contains("GRANT TEMPORARY ON DATABASE");
			});
	}

}
