package dev.zdm.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Tests for {@link ZdmScripts} in plain unit tests, without a database.
 */
@Tag("no-database")
class ZdmScriptsTests {

	@TempDir
	Path migration;

	@Test
	void safeScriptsPass() {
		ZdmScripts.check("classpath:db/zdm/people-email");
	}

	@Test
	void unsafeScriptIsRefusedWithTheStatementWhyAndTheSafeRecipe() {
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> ZdmScripts.check("classpath:db/zdm/people-email-unsafe"))
			.withMessageStartingWith("Migration 'people-email-unsafe': 1 unsafe statement in its scripts:")
			.withMessageContaining("V1__add_email_address.sql line 2: \"CREATE INDEX people_email_address ON people "
					+ "(email_address)\" is unsafe (create-index): " + UnsafeOperation.CREATE_INDEX.reason())
			.withMessageContaining("create-index: " + UnsafeOperation.CREATE_INDEX.recipe())
			.withMessageContaining("-- zdm:allow <code>");
	}

	@Test
	void everyOperationStartUpRefusesIsFoundWithoutADatabase() throws IOException {
		write("expand", "V1__expand.sql", """
				CREATE INDEX items_name ON items (name);
				ALTER TABLE items ADD COLUMN token uuid DEFAULT gen_random_uuid();
				ALTER TABLE items ADD COLUMN qty int NOT NULL;
				ALTER TABLE items ALTER COLUMN price TYPE numeric(12, 2) USING price * 100;
				ALTER TABLE items ALTER COLUMN name SET NOT NULL;
				ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id);
				ALTER TABLE items ADD CONSTRAINT items_code_key UNIQUE (code);
				ALTER TABLE items RENAME COLUMN note TO remark;
				ALTER TABLE items DROP COLUMN legacy;
				VACUUM FULL items;
				CLUSTER items USING items_pkey;
				LOCK TABLE items;
				REINDEX TABLE items;
				""");
		write("contract", "V1__contract.sql", "ALTER TABLE items DROP COLUMN old_name;\n");
		assertThat(ZdmScripts.of("filesystem:" + this.migration).findings()).extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.CREATE_INDEX, UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
					UnsafeOperation.ADD_COLUMN_NOT_NULL, UnsafeOperation.ALTER_COLUMN_TYPE,
					UnsafeOperation.SET_NOT_NULL, UnsafeOperation.ADD_CONSTRAINT, UnsafeOperation.ADD_UNIQUE_CONSTRAINT,
					UnsafeOperation.RENAME, UnsafeOperation.DROP_IN_EXPAND, UnsafeOperation.VACUUM_FULL,
					UnsafeOperation.CLUSTER, UnsafeOperation.LOCK_TABLE, UnsafeOperation.REINDEX);
	}

	@Test
	void hazardsOfThePeerLintersAreFoundWithoutADatabase() throws IOException {
		write("expand", "V1__expand.sql", """
				DROP INDEX items_code;
				ALTER TABLE events DETACH PARTITION events_2025;
				ALTER TABLE items SET UNLOGGED;
				TRUNCATE items CASCADE;
				DROP DATABASE archive;
				UPDATE items SET label = lower(name);
				ALTER TABLE items ADD COLUMN doc json;
				REFRESH MATERIALIZED VIEW item_totals;
				ALTER TYPE item_state RENAME VALUE 'done' TO 'finished';
				ALTER TABLE items ADD COLUMN owner_id bigint REFERENCES owners (id);
				""");
		write("contract", "V1__contract.sql", """
				DROP INDEX CONCURRENTLY IF EXISTS items_code;
				ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY;
				REFRESH MATERIALIZED VIEW CONCURRENTLY item_totals;
				""");
		assertThat(ZdmScripts.of("filesystem:" + this.migration).findings()).extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.DROP_INDEX, UnsafeOperation.DETACH_PARTITION,
					UnsafeOperation.TABLE_REWRITE, UnsafeOperation.TRUNCATE, UnsafeOperation.DROP_DATABASE,
					UnsafeOperation.BACKFILL_IN_SCRIPT, UnsafeOperation.JSON_COLUMN,
					UnsafeOperation.REFRESH_MATERIALIZED_VIEW, UnsafeOperation.RENAME, UnsafeOperation.ADD_CONSTRAINT);
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> ZdmScripts.check("filesystem:" + this.migration))
			.withMessageContaining("V1__expand.sql line 1: \"DROP INDEX items_code\" is unsafe (drop-index): "
					+ UnsafeOperation.DROP_INDEX.reason())
			.withMessageContaining("drop-index: " + UnsafeOperation.DROP_INDEX.recipe());
	}

	@Test
	void safeRecipesPassWithoutADatabase() throws IOException {
		write("expand", "V1__expand.sql", """
				CREATE INDEX CONCURRENTLY IF NOT EXISTS items_name ON items (name);
				ALTER TABLE items ADD COLUMN created_at timestamptz DEFAULT now();
				ALTER TABLE items ADD COLUMN flag boolean NOT NULL DEFAULT false;
				ALTER TABLE items ADD CONSTRAINT items_name_not_null CHECK (name IS NOT NULL) NOT VALID;
				ALTER TABLE items VALIDATE CONSTRAINT items_name_not_null;
				ALTER TABLE items ALTER COLUMN name SET NOT NULL;
				ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id) NOT VALID;
				ALTER TABLE items VALIDATE CONSTRAINT items_owner_fk;
				CREATE TABLE labels (id bigint PRIMARY KEY, label text);
				CREATE INDEX labels_label ON labels (label);
				REINDEX INDEX CONCURRENTLY items_pkey;
				""");
		write("contract", "V1__contract.sql", "ALTER TABLE items DROP COLUMN note;\n");
		ZdmScripts.check("filesystem:" + this.migration);
	}

	@Test
	void typeChangeOfAnExistingColumnCannotBeShownSafeWithoutADatabase() throws IOException {
		write("expand", "V1__expand.sql", "ALTER TABLE items ALTER COLUMN code TYPE varchar(20);\n");
		assertThat(ZdmScripts.of("filesystem:" + this.migration).findings()).singleElement().satisfies((finding) -> {
			assertThat(finding.operation()).isEqualTo(UnsafeOperation.ALTER_COLUMN_TYPE);
			assertThat(finding.detail()).isEqualTo("column code cannot be shown to keep its storage");
		});
	}

	@Test
	void theApplicationsOwnFlywayScriptsAreCheckedAsExpandScriptsWithTheirOwnAdvice() throws IOException {
		write(".", "V1__create.sql", "CREATE TABLE items (id bigint PRIMARY KEY, name text);\n");
		write(".", "V2__index.sql", "CREATE INDEX orders_placed ON orders (placed_at);\n");
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> ZdmScripts.flyway("filesystem:" + this.migration).check())
			.withMessageStartingWith("The Flyway scripts in [filesystem:" + this.migration + "]: 1 unsafe statement")
			.withMessageContaining("V2__index.sql")
			.withMessageContaining("CREATE INDEX CONCURRENTLY")
			.withMessageEndingWith("or in this check with ZdmScripts.flyway(...).allowing(<codes>).");
		ZdmScripts.flyway("filesystem:" + this.migration).allowing("create-index").check();
	}

	@Test
	void allowedOperationsPass() {
		ZdmScripts.of("classpath:db/zdm/people-email-unsafe").allowing("create-index").check();
	}

	@Test
	void allowWithoutReasonIsRefusedWhenReasonsAreRequiredAsAtStartUp() throws IOException {
		write("expand", "V1__expand.sql", """
				-- zdm:allow create-index: the table has 40 rows
				CREATE INDEX items_name ON items (name);
				CREATE INDEX items_code ON items (code); -- zdm:allow create-index
				""");
		write("contract", "V1__contract.sql", "/* zdm:allow lock-table */ LOCK TABLE items;\n");
		ZdmScripts.check("filesystem:" + this.migration);
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> ZdmScripts.of("filesystem:" + this.migration).requiringAllowReasons().check())
			.withMessageContaining("2 -- zdm:allow comments give no reason, which zdm.ddl.require-allow-reason=true "
					+ "requires; nothing has run:\n  - V1__expand.sql line 3: -- zdm:allow create-index\n"
					+ "  - V1__contract.sql line 1: -- zdm:allow lock-table")
			.withMessageContaining("Give the reason after the code and a colon, as in "
					+ "'-- zdm:allow create-index: the table has 40 rows'");
		write("expand", "V1__expand.sql", """
				-- zdm:allow create-index: the table has 40 rows
				CREATE INDEX items_name ON items (name);
				CREATE INDEX items_code ON items (code); -- zdm:allow create-index: and so has this one
				""");
		write("contract", "V1__contract.sql", "/* zdm:allow lock-table: a test of it */ LOCK TABLE items;\n");
		ZdmScripts.of("filesystem:" + this.migration).requiringAllowReasons().check();
	}

	@Test
	void unknownCodeIsRefusedWithTheValidOnes() {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> ZdmScripts.of("classpath:db/zdm/people-email").allowing("create-idx"))
			.withMessage("'create-idx' is not an unsafe operation code; valid codes: " + UnsafeOperation.allCodes());
	}

	@Test
	void locationWithoutScriptsFails() {
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> ZdmScripts.check("classpath:db/zdm/no-such-migration"))
			.withMessage("No V<version>__<description>.sql scripts found in "
					+ "[classpath:db/zdm/no-such-migration/expand] or [classpath:db/zdm/no-such-migration/contract]; "
					+ "check the location");
	}

	@Test
	void misnamedScriptFailsWithHowToNameIt() throws IOException {
		write("expand", "add_column.sql", "ALTER TABLE items ADD COLUMN label text;\n");
		assertThatExceptionOfType(AssertionError.class)
			.isThrownBy(() -> ZdmScripts.check("filesystem:" + this.migration))
			.withMessageContaining("expand script 'add_column.sql'")
			.withMessageContaining("is not named V<version>__<description>.sql")
			.withMessageContaining("Rename it as Flyway names versioned migrations");
	}

	private void write(String step, String name, String sql) throws IOException {
		Path folder = Files.createDirectories(this.migration.resolve(step));
		Files.writeString(folder.resolve(name), sql);
	}

}
