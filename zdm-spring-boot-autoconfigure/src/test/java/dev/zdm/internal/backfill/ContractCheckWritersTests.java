package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the final check's list of sessions writing a migration's tables names the
 * application's and outside writers, not zdm's own statements (a repair's upsert run
 * beside the check was once listed as a writer to stop).
 */
class ContractCheckWritersTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void writersAreOtherSessionsWritingTheTablesButNotZdmsOwnStatements() throws Exception {
		postgres.jdbc().execute("CREATE TABLE shops (id bigint PRIMARY KEY, name text)");
		postgres.jdbc().execute("INSERT INTO shops VALUES (1, 'one'), (2, 'two')");
		new ZdmSchema(postgres.dataSource()).migrate();
		ContractCheckRepository repository = new ContractCheckRepository(postgres.dataSource(), false);
		try (Connection outside = postgres.database().newConnection();
				Connection zdm = postgres.database().newConnection()) {
			write(outside, "outside-writer", "UPDATE shops SET name = 'uno' WHERE id = 1");
			write(zdm, "the-application", "/* zdm */ WITH zdm_source AS (SELECT id FROM shops WHERE id = 2 FOR SHARE) "
					+ "UPDATE shops SET name = 'dos' WHERE id IN (SELECT id FROM zdm_source)");
			List<String> writers = repository.writers(List.of("public.shops"), List.of("shops"), 10);
			assertThat(writers).singleElement()
				.asString()
				.contains("application 'outside-writer'", "writing now", "UPDATE shops SET name = $1 WHERE id = $2");
		}
	}

	// leaves the transaction open, holding its row lock and its table's ROW EXCLUSIVE
	private static void write(Connection connection, String application, String sql) throws Exception {
		try (Statement statement = connection.createStatement()) {
			statement.execute("SET application_name = '" + application + "'");
			connection.setAutoCommit(false);
			statement.executeUpdate(sql);
		}
	}

}
