package dev.zdm.internal.backfill;

import java.sql.SQLException;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.dao.DataIntegrityViolationException;

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
	void keepsAMessageWithoutAFullStopAsItIs() {
		assertThat(BackfillErrors.describe(new IllegalStateException("canceling statement due to lock timeout")))
			.isEqualTo("IllegalStateException: canceling statement due to lock timeout");
	}

}
