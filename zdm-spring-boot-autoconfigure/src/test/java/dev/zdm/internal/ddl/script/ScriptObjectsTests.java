package dev.zdm.internal.ddl.script;

import java.util.List;

import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ScriptObjects}: the columns contract scripts drop, read from their
 * statements.
 */
@Tag("no-database")
class ScriptObjectsTests {

	@Test
	void readsTheColumnsTheScriptsDropWithOrWithoutCascade() {
		ScriptObjects objects = ScriptObjects.of(List.of(contract("""
				ALTER TABLE customers DROP COLUMN email;
				ALTER TABLE public."Orders" DROP "Street" CASCADE, DROP COLUMN IF EXISTS city;
				COMMENT ON COLUMN customers.name IS 'kept';
				""")));
		assertThat(objects.dropsColumn("customers", "email")).isTrue();
		assertThat(objects.dropsColumn("Orders", "Street")).as("quoted, with CASCADE").isTrue();
		assertThat(objects.dropsColumn("Orders", "city")).as("IF EXISTS").isTrue();
		assertThat(objects.dropsColumn("customers", "name")).as("only commented on").isFalse();
		assertThat(objects.dropsColumn("orders", "Street")).as("another table").isFalse();
		// the dependents check reads the drops PostgreSQL refuses while something depends
		// on the column: not those with CASCADE
		assertThat(objects.droppedColumns()).extracting(ScriptObjects.DroppedColumn::column)
			.containsExactly("email", "city");
	}

	private static DdlScript contract(String sql) {
		return new DdlScript(DdlStep.CONTRACT, MigrationVersion.fromVersion("1"), "contract", "V1__contract.sql",
				"classpath:db/contract", 0, SqlScriptParser.parse(sql));
	}

}
