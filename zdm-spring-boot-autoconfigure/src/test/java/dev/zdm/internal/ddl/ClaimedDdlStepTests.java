package dev.zdm.internal.ddl;

import java.io.EOFException;
import java.sql.SQLException;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ClaimedDdlStep#lostConnection(Throwable)}: which failures of a
 * contract or an abandon are a lost database connection, told at WARN, rather than an
 * error to mend.
 */
@Tag("no-database")
class ClaimedDdlStepTests {

	@Test
	void closedPoolConnectionAndDriverIoErrorAndServerShutdownAreALostConnection() {
		// as the pool answers a statement on a connection the restart closed
		assertThat(ClaimedDdlStep.lostConnection(new DdlExecutionException("statement 1 failed: Connection is closed",
				List.of(), new SQLException("Connection is closed", "08003"))))
			.isTrue();
		assertThat(ClaimedDdlStep.lostConnection(new DdlExecutionException("statement 1 failed", List.of(),
				new PSQLException("An I/O error occurred while sending to the backend.", PSQLState.CONNECTION_FAILURE,
						new EOFException()))))
			.isTrue();
		assertThat(ClaimedDdlStep.lostConnection(new IllegalStateException("contract failed",
				new SQLException("FATAL: terminating connection due to administrator command", "57P01"))))
			.isTrue();
		// as HikariCP 7 throws it, without a SQLSTATE, on the connection it closed after
		// an I/O error: an immediate restart of the database was logged as a failure
		assertThat(ClaimedDdlStep
			.lostConnection(new DdlExecutionException("zdm:relax-before-claim statement 1 failed: Connection is closed",
					List.of(), new SQLException("Connection is closed"))))
			.isTrue();
	}

	@Test
	void statementErrorsAreNot() {
		assertThat(ClaimedDdlStep.lostConnection(new DdlExecutionException("statement 1 failed", List.of(),
				new SQLException("ERROR: relation \"orders\" does not exist", "42P01"))))
			.isFalse();
		assertThat(ClaimedDdlStep.lostConnection(new DdlExecutionException("statement 1 failed", List.of(),
				new SQLException("ERROR: canceling statement due to lock timeout", "55P03"))))
			.isFalse();
		assertThat(ClaimedDdlStep.lostConnection(new IllegalStateException("no SQL state"))).isFalse();
		assertThat(ClaimedDdlStep.lostConnection(new SQLException("Statement is closed"))).isFalse();
	}

}
