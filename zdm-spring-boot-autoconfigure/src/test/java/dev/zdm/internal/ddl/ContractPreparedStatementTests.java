package dev.zdm.internal.ddl;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.test.PostgresDatabase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * What a contract's {@code DROP COLUMN} does to the statements another instance's driver
 * has prepared on the server: one that returns every column ({@code RETURNING *}, which
 * the driver adds for generated keys, or {@code SELECT *}) fails once, unless the
 * connection URL asks the driver to retry it ({@code autosave=conservative}), as
 * docs/lifecycle.md advises.
 */
class ContractPreparedStatementTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void insertReturningEveryColumnFailsOnceInATransactionAfterADropColumnUnlessTheDriverRetriesIt() throws Exception {
		assertThat(insertAfterDropColumn("plain", "", true)).contains("cached plan must not change result type");
		assertThat(insertAfterDropColumn("retried", "autosave=conservative", true)).isNull();
		assertThat(insertAfterDropColumn("unprepared", "prepareThreshold=0", true)).isNull();
		// outside a transaction the driver prepares it again by itself
		assertThat(insertAfterDropColumn("autocommitted", "", false)).isNull();
	}

	@Test
	void startUpAdvisesTheRetryOnlyWhileTheDriverPreparesStatementsWithoutIt() throws Exception {
		PostgresDatabase database = postgres.database();
		try (Connection plain = DriverManager.getConnection(database.url(), database.username(), database.password());
				Connection retried = DriverManager.getConnection(
						database.url() + (database.url().contains("?") ? "&" : "?") + "autosave=conservative",
						database.username(), database.password())) {
			assertThat(PreparedStatementCheck.advice(plain)).contains("cached plan must not change result type",
					"Add autosave=conservative");
			assertThat(PreparedStatementCheck.advice(retried)).isNull();
		}
	}

	/**
	 * Prepare an insert returning generated keys on the server, drop a column from
	 * another session, insert again.
	 * @return the failure of the last insert, or {@code null} if it succeeded
	 */
	private static String insertAfterDropColumn(String table, String options, boolean inTransaction)
			throws SQLException {
		PostgresDatabase database = postgres.database();
		postgres.jdbc().execute("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, kept text, dropped text)");
		String url = database.url() + (options.isEmpty() ? "" : (database.url().contains("?") ? "&" : "?") + options);
		try (Connection instance = DriverManager.getConnection(url, database.username(), database.password());
				PreparedStatement insert = instance.prepareStatement("INSERT INTO " + table + " (kept) VALUES (?)",
						Statement.RETURN_GENERATED_KEYS)) {
			instance.setAutoCommit(!inTransaction);
			for (int i = 0; i < 10; i++) {
				insert.setString(1, "before " + i);
				insert.executeUpdate();
				if (inTransaction) {
					instance.commit();
				}
			}
			postgres.jdbc().execute("ALTER TABLE " + table + " DROP COLUMN dropped");
			insert.setString(1, "after");
			try {
				insert.executeUpdate();
				if (inTransaction) {
					instance.commit();
				}
				return null;
			}
			catch (SQLException ex) {
				if (inTransaction) {
					instance.rollback();
				}
				return ex.getMessage();
			}
		}
	}

}
