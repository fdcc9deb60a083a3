package dev.zdm.internal.backfill;

import java.io.EOFException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.jdbc.UncategorizedSQLException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link BackfillErrors#describe(Throwable)}: the database's own message, once,
 * fit to go inside a sentence.
 */
@Tag("no-database")
class BackfillErrorsTests {

	@Test
	void describesTheMostSpecificCauseWithoutItsFullStop() {
		SQLException overflow = new SQLException(
				"ERROR: numeric field overflow\n  Detail: A field with precision 5, scale 2 must round to an absolute "
						+ "value less than 10^3. ",
				"22003");
		String described = BackfillErrors
			.describe(new DataIntegrityViolationException("UPDATE orders SET amount = ...", overflow));
		assertThat(described).startsWith("SQLException: ERROR: numeric field overflow")
			.endsWith("less than 10^3")
			.doesNotContain("UPDATE orders");
		assertThat(described + ". Mend the cause").doesNotContain("..");
	}

	@Test
	void causeWithoutAMessageIsDescribedByTheFailureAroundIt() {
		// as a database crash ends a batch: the driver's I/O error, caused by the end
		// of the stream
		PSQLException io = new PSQLException("An I/O error occurred while sending to the backend.",
				PSQLState.CONNECTION_FAILURE, new EOFException());
		String described = BackfillErrors.describe(new DataAccessResourceFailureException(
				"PreparedStatementCallback; SQL [UPDATE orders ...]; " + io.getMessage(), io));
		assertThat(described).isEqualTo("PSQLException: An I/O error occurred while sending to the backend "
				+ "(EOFException; the connection to the database was lost)");
		assertThat(BackfillErrors.describe(new EOFException()))
			.isEqualTo("EOFException; the connection to the database was lost");
	}

	@Test
	void keepsAMessageWithoutAFullStopAsItIs() {
		assertThat(BackfillErrors.describe(new IllegalStateException("canceling statement due to lock timeout")))
			.isEqualTo("IllegalStateException: canceling statement due to lock timeout");
	}

	@Test
	void failureForWantOfAResourceSaysWhatItMeansAndWhatToDo() {
		assertThat(BackfillErrors.insufficientResources(new UncategorizedSQLException("batch", "UPDATE orders ...",
				new SQLException("ERROR: could not extend file \"base/5/16415\": No space left on device", "53100"))))
			.startsWith("The database's disk is full (SQLSTATE 53100, disk_full): free space on it")
			.contains("or grow it", "retried from its checkpoint", "nothing copied is lost");
		assertThat(BackfillErrors.insufficientResources(new UncategorizedSQLException("batch", "UPDATE orders ...",
				new SQLException("ERROR: out of memory", "53200"))))
			.startsWith("The database server ran out of memory (SQLSTATE 53200")
			.contains("nothing copied is lost");
		// refused at connect time: the pool wraps the driver's failure
		assertThat(BackfillErrors
			.insufficientResources(new CannotGetJdbcConnectionException("Could not get JDBC " + "Connection",
					new SQLTransientConnectionException("HikariPool-1 - Connection is not available", null,
							new SQLException("FATAL: sorry, too many clients already", "53300")))))
			.startsWith("The database has no connection slot left (SQLSTATE 53300")
			.contains("raise max_connections", "nothing copied is lost");
		assertThat(BackfillErrors.insufficientResources(new UncategorizedSQLException("batch", "UPDATE orders ...",
				new SQLException("ERROR: too many range table entries", "54000"))))
			.isNull();
		assertThat(BackfillErrors.insufficientResources(new UncategorizedSQLException("batch", "UPDATE orders ...",
				new SQLException("ERROR: configuration limit exceeded", "53400"))))
			.contains("SQLSTATE 53400, class 53");
	}

}
