package dev.zdm.internal.backfill;

import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.migration.SqlIdentifier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the forms in which {@link KeyColumns} writes a key range, without a database:
 * a range whose bounds share their first columns is written as equalities on those and a
 * comparison of the rest, which a B-tree index bounds on both ends.
 */
@Tag("no-database")
class KeyRangeFormTests {

	private final KeyColumns single = KeyColumns.of(List.of(new SqlIdentifier("id")), "");

	private final KeyColumns three = KeyColumns
		.of(List.of(new SqlIdentifier("tenant"), new SqlIdentifier("region"), new SqlIdentifier("id")), "t.");

	@Test
	void singleColumnKeyHasAFirstAndANextForm() {
		assertThat(this.single.forms()).isEqualTo(2);
		assertThat(this.single.form(null, "42")).isZero();
		assertThat(this.single.form("7", "42")).isEqualTo(1);
		assertThat(KeyColumns.rangeForm("WHERE " + this.single.range(), 0)).isEqualTo("WHERE \"id\" <= :hi");
		assertThat(KeyColumns.rangeForm("WHERE " + this.single.range(), 1))
			.isEqualTo("WHERE \"id\" > :lo AND \"id\" <= :hi");
	}

	@Test
	void formOfACompositeRangeCountsTheColumnsItsBoundsShare() {
		assertThat(this.three.forms()).isEqualTo(4);
		assertThat(this.three.form(null, "{acme,eu,42}")).isZero();
		assertThat(this.three.form("{acme,eu,7}", "{beta,eu,42}")).isEqualTo(1);
		assertThat(this.three.form("{acme,eu,7}", "{acme,us,42}")).isEqualTo(2);
		assertThat(this.three.form("{acme,eu,7}", "{acme,eu,42}")).isEqualTo(3);
		// bounds that are the same key share at most all but the last column
		assertThat(this.three.form("{acme,eu,7}", "{acme,eu,7}")).isEqualTo(3);
		// quoted elements are compared by their values, not their spelling
		assertThat(this.three.form("{\"acme, inc.\",eu,7}", "{\"acme, inc.\",eu,42}")).isEqualTo(3);
	}

	@Test
	void sharedColumnsBecomeEqualitiesAndTheRestARowComparison() {
		String statement = "WHERE " + this.three.range();
		assertThat(this.three.bind(KeyColumns.rangeForm(statement, 1)))
			.isEqualTo("WHERE (t.\"tenant\", t.\"region\", t.\"id\") > (:lo_1, :lo_2, :lo_3) AND "
					+ "(t.\"tenant\", t.\"region\", t.\"id\") <= (:hi_1, :hi_2, :hi_3)");
		assertThat(this.three.bind(KeyColumns.rangeForm(statement, 2)))
			.isEqualTo("WHERE t.\"tenant\" = :hi_1 AND (t.\"region\", t.\"id\") > (:lo_2, :lo_3) AND "
					+ "(t.\"region\", t.\"id\") <= (:hi_2, :hi_3)");
		assertThat(this.three.bind(KeyColumns.rangeForm(statement, 3))).isEqualTo(
				"WHERE t.\"tenant\" = :hi_1 AND t.\"region\" = :hi_2 AND t.\"id\" > :lo_3 AND t.\"id\" <= :hi_3");
	}

}
