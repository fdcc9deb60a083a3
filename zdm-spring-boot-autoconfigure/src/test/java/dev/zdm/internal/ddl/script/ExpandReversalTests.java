package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.internal.ddl.script.ExpandReversal.ExpandStatement;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ExpandReversal}: what the expand created, read from its statements.
 */
@Tag("no-database")
class ExpandReversalTests {

	@Test
	void dropsWhatTheScriptsCreateInReverseOrder() {
		ExpandReversal reversal = ExpandReversal.of(script("""
				SET lock_timeout = '1s';
				CREATE TABLE orders_addresses (order_id bigint PRIMARY KEY REFERENCES orders (id), street text);
				ALTER TABLE orders ADD COLUMN street_new text, ADD "City New" text;
				CREATE INDEX CONCURRENTLY orders_street_new ON app.orders (street_new);
				ALTER TABLE orders ADD CONSTRAINT street_new_short CHECK (length(street_new) < 200) NOT VALID;
				ALTER TABLE orders VALIDATE CONSTRAINT street_new_short;
				CREATE SEQUENCE orders_seq;
				CREATE FUNCTION orders_total(a integer, b numeric(10, 2)) RETURNS numeric LANGUAGE sql AS 'SELECT 1';
				CREATE TRIGGER orders_audit AFTER UPDATE OF street_new ON orders FOR EACH ROW EXECUTE FUNCTION f();
				CREATE VIEW orders_view AS SELECT id FROM orders;
				"""));
		assertThat(reversal.irreversible()).isEmpty();
		assertThat(reversal.statements()).containsExactly("DROP VIEW IF EXISTS orders_view",
				"DROP TRIGGER IF EXISTS orders_audit ON orders",
				"DROP FUNCTION IF EXISTS orders_total(a integer, b numeric(10, 2))",
				"DROP SEQUENCE IF EXISTS orders_seq", "ALTER TABLE orders DROP CONSTRAINT IF EXISTS street_new_short",
				"DROP INDEX CONCURRENTLY IF EXISTS app.orders_street_new",
				"ALTER TABLE orders DROP COLUMN IF EXISTS \"City New\"",
				"ALTER TABLE orders DROP COLUMN IF EXISTS street_new", "DROP TABLE IF EXISTS orders_addresses");
	}

	@Test
	void refusesWhatItCannotTellItCreatedOrThatChangesWhatExistedBefore() {
		ExpandReversal reversal = ExpandReversal.of(script("""
				CREATE TABLE IF NOT EXISTS a (id int);
				ALTER TABLE orders ADD COLUMN IF NOT EXISTS b text;
				CREATE OR REPLACE VIEW v AS SELECT 1;
				CREATE INDEX ON orders (b);
				ALTER TABLE orders ALTER COLUMN c SET DEFAULT 1;
				UPDATE orders SET b = c;
				DO $$ BEGIN END $$;
				ALTER TABLE orders VALIDATE CONSTRAINT existing;
				"""));
		assertThat(reversal.irreversible()).hasSize(8)
			.allMatch((line) -> line.startsWith("V1__expand.sql statement "))
			.anyMatch((line) -> line.contains("with IF NOT EXISTS, the table may have existed before"))
			.anyMatch((line) -> line.contains("CREATE OR REPLACE may have replaced a view"))
			.anyMatch((line) -> line.contains("an unnamed index cannot be dropped by name"))
			.anyMatch((line) -> line.contains("UPDATE orders SET b = c (zdm cannot tell what it changes)"))
			.anyMatch((line) -> line.contains("it validates a constraint that existed before"));
	}

	@Test
	void dropsWhatAnIfNotExistsCreatedAndLeavesWhatItSkippedWhenTheHistoryKnows() {
		List<DdlStatement> statements = SqlScriptParser.parse("""
				ALTER TABLE orders ADD COLUMN IF NOT EXISTS b text, ADD COLUMN IF NOT EXISTS c text;
				CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_b ON orders (b);
				ALTER TABLE orders ADD COLUMN IF NOT EXISTS existing text;
				CREATE TABLE IF NOT EXISTS existing_table (id int);
				ALTER TABLE orders ADD COLUMN IF NOT EXISTS d text, ADD COLUMN IF NOT EXISTS existing text;
				""");
		List<Boolean> skipped = List.of(false, false, true, true, true);
		List<ExpandStatement> ran = new ArrayList<>();
		for (int i = 0; i < statements.size(); i++) {
			ran.add(new ExpandStatement("V1__expand.sql", statements.get(i), false, skipped.get(i)));
		}
		ExpandReversal reversal = ExpandReversal.of(ran);
		assertThat(reversal.statements()).containsExactly("DROP INDEX CONCURRENTLY IF EXISTS orders_b",
				"ALTER TABLE orders DROP COLUMN IF EXISTS c", "ALTER TABLE orders DROP COLUMN IF EXISTS b");
		assertThat(reversal.irreversible()).singleElement()
			.asString()
			.startsWith("V1__expand.sql statement 5: ")
			.endsWith("(PostgreSQL skipped a column that existed before, and zdm cannot tell which)");
	}

	@Test
	void reversesWhatZdmGeneratedForWhatDidNotExist() {
		List<ExpandStatement> generated = SqlScriptParser
			.parse("""
					ALTER TABLE "public"."t" ADD COLUMN IF NOT EXISTS "total" numeric DEFAULT (0);
					CREATE INDEX CONCURRENTLY IF NOT EXISTS "t_total" ON "public"."t" ("total");
					CREATE OR REPLACE FUNCTION "public"."zdm_sync_m"() RETURNS trigger LANGUAGE plpgsql AS $zdm$
					BEGIN RETURN NEW; END $zdm$;
					CREATE OR REPLACE TRIGGER "zdm_sync_m" BEFORE INSERT OR UPDATE OF "a", "b" ON "public"."t" FOR EACH ROW EXECUTE FUNCTION "public"."zdm_sync_m"();
					""")
			.stream()
			.map((statement) -> new ExpandStatement("contributor:X", statement, true))
			.toList();
		ExpandReversal reversal = ExpandReversal.of(generated);
		assertThat(reversal.irreversible()).isEmpty();
		assertThat(reversal.statements()).containsExactly("DROP TRIGGER IF EXISTS \"zdm_sync_m\" ON \"public\".\"t\"",
				"DROP FUNCTION IF EXISTS \"public\".\"zdm_sync_m\"()",
				"DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"t_total\"",
				"ALTER TABLE \"public\".\"t\" DROP COLUMN IF EXISTS \"total\"");
	}

	private static List<ExpandStatement> script(String sql) {
		return SqlScriptParser.parse(sql)
			.stream()
			.map((statement) -> new ExpandStatement("V1__expand.sql", statement, false))
			.toList();
	}

}
