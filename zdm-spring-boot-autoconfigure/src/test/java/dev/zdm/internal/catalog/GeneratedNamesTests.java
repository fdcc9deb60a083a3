package dev.zdm.internal.catalog;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link GeneratedNames}: the names of zdm's own objects stay apart where
 * PostgreSQL would cut them to one.
 */
@Tag("no-database")
class GeneratedNamesTests {

	// two 47-character ids alike in their first 45 characters, whose Java hashCode is
	// the same ("an" and "c0" hash alike): the sync trigger functions of two migrations
	// on two tables had one name, and one table's writes ran the other's function
	private static final String ONE = "hd47-0123456789-0123456789-0123456789-0123456an";

	private static final String OTHER = "hd47-0123456789-0123456789-0123456789-0123456c0";

	@Test
	void aNameThatFitsIsKept() {
		assertThat(GeneratedNames.fit("zdm_sync_users_email", 55)).isEqualTo("zdm_sync_users_email");
	}

	@Test
	void longNamesAlikeInTheirFirstCharactersAndInJavasHashStayApart() {
		assertThat(ONE.hashCode()).isEqualTo(OTHER.hashCode());
		String one = GeneratedNames.fit("zdm_sync_" + ONE.replace('-', '_'), 55);
		String other = GeneratedNames.fit("zdm_sync_" + OTHER.replace('-', '_'), 55);
		assertThat(one).hasSize(55).startsWith("zdm_sync_hd47_0123456789");
		assertThat(other).hasSize(55).isNotEqualTo(one);
		assertThat(GeneratedNames.fit("zdm_sync_" + ONE.replace('-', '_'), 55)).as("the same every time")
			.isEqualTo(one);
	}

}
