package dev.zdm.internal.ddl.script;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlTestScripts;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link UnsafeStatementChecker}: the safe recipes pass, and the checks see
 * what the scripts do.
 */
class UnsafeStatementCheckerTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	private final UnsafeStatementChecker checker = new UnsafeStatementChecker(new DdlCatalog(postgres.dataSource()));

	private final DdlScriptLoader loader = new DdlScriptLoader(new DefaultResourceLoader());

	@BeforeAll
	static void createTables() {
		postgres.jdbc().execute("CREATE TABLE owners (id bigint PRIMARY KEY)");
		postgres.jdbc()
			.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text, code varchar(10), "
					+ "price numeric(10, 2), qty int, owner_id bigint, note text)");
	}

	@Test
	void safeRecipesPassTheChecks() {
		List<DdlScript> expand = scripts("expand", """
				CREATE INDEX CONCURRENTLY IF NOT EXISTS items_name ON items (name);
				ALTER TABLE items ADD COLUMN created_at timestamptz DEFAULT now();
				ALTER TABLE items ADD COLUMN IF NOT EXISTS label text;
				ALTER TABLE items ADD COLUMN flag boolean NOT NULL DEFAULT false;
				ALTER TABLE items ALTER COLUMN code TYPE varchar(20);
				ALTER TABLE items ALTER COLUMN code SET DATA TYPE text;
				ALTER TABLE items ALTER COLUMN price TYPE numeric(12, 2);
				ALTER TABLE items ADD CONSTRAINT items_name_not_null CHECK (name IS NOT NULL) NOT VALID;
				ALTER TABLE items VALIDATE CONSTRAINT items_name_not_null;
				ALTER TABLE items ALTER COLUMN name SET NOT NULL;
				ALTER TABLE items ADD CONSTRAINT items_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id) NOT VALID;
				ALTER TABLE items VALIDATE CONSTRAINT items_owner_fk;
				CREATE UNIQUE INDEX CONCURRENTLY items_code_key ON items (code);
				ALTER TABLE items ADD CONSTRAINT items_code_key UNIQUE USING INDEX items_code_key;
				ALTER TABLE items RENAME CONSTRAINT items_owner_fk TO items_owner_fkey;
				CREATE TABLE labels (id bigint PRIMARY KEY, label text);
				CREATE INDEX labels_label ON labels (label);
				ALTER TABLE labels ADD COLUMN n serial, ADD CONSTRAINT labels_label_key UNIQUE (label);
				ALTER TABLE labels ALTER COLUMN label SET NOT NULL, ALTER COLUMN label TYPE varchar(5);
				REINDEX INDEX CONCURRENTLY items_pkey;
				VACUUM (ANALYZE) items;
				CREATE OR REPLACE FUNCTION items_sync() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
				  NEW.label := lower(NEW.name); -- DROP TABLE items; in a body is not a statement
				  RETURN NEW;
				END $$;
				""");
		List<DdlScript> contract = scripts("contract", """
				ALTER TABLE items DROP COLUMN note;
				DROP TABLE IF EXISTS labels;
				""");
		assertThat(this.checker.check(expand, contract, Set.of())).isEmpty();
	}

	@Test
	void typeChangesThatRewriteAreFound() {
		List<DdlScript> expand = scripts("expand", """
				ALTER TABLE items ALTER COLUMN code TYPE varchar(5);
				ALTER TABLE items ALTER COLUMN qty TYPE bigint;
				ALTER TABLE items ALTER COLUMN price TYPE numeric(10, 4);
				ALTER TABLE items ALTER COLUMN note TYPE int USING note::int;
				ALTER TABLE items ALTER COLUMN code TYPE text, ALTER COLUMN name TYPE varchar(3);
				""");
		assertThat(this.checker.check(expand, List.of(), Set.of())).extracting((finding) -> finding.index())
			.containsExactly(1, 2, 3, 4, 5);
	}

	@Test
	void contractMayDropButTablesCreatedByExpandAreNotNewToIt() {
		List<DdlScript> expand = scripts("expand", "CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz);");
		List<DdlScript> contract = scripts("contract", """
				CREATE INDEX audit_at ON audit (at);
				ALTER TABLE items DROP COLUMN note;
				""");
		assertThat(this.checker.check(expand, contract, Set.of())).singleElement()
			.satisfies((finding) -> assertThat(finding.operation()).isEqualTo(UnsafeOperation.CREATE_INDEX));
	}

	@Test
	void allowancesApplyToTheirStatementOrTheWholeMigration() {
		List<DdlScript> expand = scripts("expand", """
				CREATE INDEX items_qty ON items (qty); -- zdm:allow create-index
				/* zdm:allow set-not-null, rename */
				ALTER TABLE items ALTER COLUMN qty SET NOT NULL;
				CREATE INDEX items_price ON items (price);
				VACUUM FULL items;
				""");
		assertThat(this.checker.check(expand, List.of(), Set.of("vacuum-full"))).singleElement()
			.satisfies((finding) -> {
				assertThat(finding.line()).isEqualTo(4);
				assertThat(finding.describe()).startsWith("V1__script.sql line 4: \"CREATE INDEX items_price");
			});
	}

	private List<DdlScript> scripts(String step, String sql) {
		String location = DdlTestScripts.write(this.scripts.resolve(step), "V1__script.sql", sql);
		return this.loader.load("checker", DdlStep.valueOf(step.toUpperCase()), List.of(location));
	}

}
