package dev.zdm.internal.fleet;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.jdbc.UncategorizedSQLException;
import org.springframework.transaction.TransactionSystemException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link MigrationRuntime}'s description of a failed heartbeat.
 */
@Tag("no-database")
class MigrationRuntimeTests {

	@Test
	void heartbeatWhoseRollbackFailedIsDescribedByWhatFailedFirst() {
		// what Spring's transaction template throws when the session was ended mid
		// transaction: the rollback fails too, and would hide the first failure
		TransactionSystemException rollback = new TransactionSystemException("JDBC rollback failed");
		rollback.initApplicationException(
				new DataAccessResourceFailureException("FATAL: terminating connection due to administrator command"));
		assertThat(MigrationRuntime.describe(rollback))
			.startsWith("FATAL: terminating connection due to administrator command")
			.contains("(then JDBC rollback failed)");
		assertThat(MigrationRuntime.describe(new DataAccessResourceFailureException("connection refused")))
			.isEqualTo("connection refused");
	}

	@Test
	void heartbeatFailureIsDescribedByItsRootCauseAndTheStatementsNameNotItsText() {
		SQLException full = new SQLException("ERROR: could not extend file \"base/5/16415\": No space left on device\n"
				+ "  Hint: Check free disk space.", "53100");
		UncategorizedSQLException ex = new UncategorizedSQLException("PreparedStatementCallback",
				"/* zdm */ INSERT INTO zdm_instance (instance_id, migration_id)\nVALUES (?, ?)\nON CONFLICT DO NOTHING",
				full);
		assertThat(MigrationRuntime.describe(ex))
			.isEqualTo("ERROR: could not extend file \"base/5/16415\": No space left on device; Hint: Check free disk "
					+ "space. (SQLSTATE 53100, in INSERT INTO zdm_instance)");
	}

	@Test
	void onlyAFailureToConnectMakesTheDatabaseUnreachable() {
		SQLException full = new SQLException("ERROR: could not extend file: No space left on device", "53100");
		assertThat(MigrationRuntime.unreachable(new UncategorizedSQLException("heartbeat", "INSERT", full))).isFalse();
		// a starved pool: the database answers, the application holds every connection
		assertThat(MigrationRuntime.unreachable(
				new CannotGetJdbcConnectionException("Could not open JDBC Connection for transaction",
						new SQLTransientConnectionException(
								"HikariPool-1 - Connection is not available, request timed out after 30000ms"))))
			.isFalse();
		assertThat(MigrationRuntime.unreachable(new CannotGetJdbcConnectionException("Could not open JDBC Connection",
				new SQLException("Connection to localhost:5432 refused", "08001", new ConnectException()))))
			.isTrue();
		assertThat(MigrationRuntime.unreachable(new DataAccessResourceFailureException("gone",
				new SQLException("FATAL: terminating connection due to administrator command", "57P01"))))
			.isTrue();
	}

}
