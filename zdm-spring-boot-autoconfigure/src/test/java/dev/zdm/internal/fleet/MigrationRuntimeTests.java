package dev.zdm.internal.fleet;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.dao.DataAccessResourceFailureException;
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

}
