package dev.zdm.internal.locks;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link QueryText}.
 */
@Tag("no-database")
class QueryTextTests {

	@Test
	void stringsAndNumbersBecomePlaceholders() {
		assertThat(
				QueryText.normalize("UPDATE cards SET number = '4111111111111111', ssn = '078-05-1120' WHERE id = 42"))
			.isEqualTo("UPDATE cards SET number = $1, ssn = $2 WHERE id = $3");
	}

	@Test
	void quotesInsideStringsDoNotEndThem() {
		assertThat(QueryText.normalize("SELECT 'it''s secret', E'back\\\\slash \\' quote', x"))
			.isEqualTo("SELECT $1, $2, x");
	}

	@Test
	void prefixedStringsBecomePlaceholders() {
		assertThat(QueryText.normalize("SELECT B'1010', X'ff', N'name', U&'d\\0061t', e'x'"))
			.isEqualTo("SELECT $1, $2, $3, $4, $5");
	}

	@Test
	void dollarQuotedStringsBecomePlaceholders() {
		assertThat(QueryText.normalize("SELECT $$4111 1111$$, $tag$it's $$ inside$tag$ FROM t"))
			.isEqualTo("SELECT $1, $2 FROM t");
	}

	@Test
	void numbersOfEveryFormBecomePlaceholders() {
		assertThat(QueryText.normalize("SELECT 1.5e-3, .25, 10, 0x1F, 1_000 FROM t2 WHERE a[1] = 7"))
			.isEqualTo("SELECT $1, $2, $3, $4, $5 FROM t2 WHERE a[$6] = $7");
	}

	@Test
	void existingParametersAreKeptAndNewOnesNumberedAfterThem() {
		assertThat(QueryText.normalize("UPDATE t SET a = $1 WHERE b = 'x' AND c = $2"))
			.isEqualTo("UPDATE t SET a = $1 WHERE b = $3 AND c = $2");
	}

	@Test
	void identifiersKeywordsAndQuotedIdentifiersAreKept() {
		assertThat(QueryText.normalize("SELECT \"Col 1\", col2, t3.x$y FROM \"T 9\""))
			.isEqualTo("SELECT \"Col 1\", col2, t3.x$y FROM \"T 9\"");
	}

	@Test
	void commentsAreRemoved() {
		assertThat(QueryText.normalize("SELECT a -- card 4111\nFROM t /* ssn 078-05-1120 /* nested */ */ WHERE b"))
			.isEqualTo("SELECT a  \nFROM t   WHERE b");
	}

	@Test
	void aTextCutOffInsideAStringHasTheRestReplaced() {
		assertThat(QueryText.normalize("INSERT INTO t VALUES ('4111 1111 1111")).isEqualTo("INSERT INTO t VALUES ($1");
	}

	@Test
	void nullStaysNull() {
		assertThat(QueryText.normalize(null)).isNull();
	}

}
