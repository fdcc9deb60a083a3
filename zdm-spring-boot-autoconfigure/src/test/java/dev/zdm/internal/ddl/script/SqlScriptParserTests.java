package dev.zdm.internal.ddl.script;

import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Tests for {@link SqlScriptParser}.
 */
@Tag("no-database")
class SqlScriptParserTests {

	@Test
	void splitsAtSemicolonsOutsideLiteralsCommentsAndBodies() {
		List<DdlStatement> statements = SqlScriptParser.parse("""
				-- a comment; not a statement
				ALTER TABLE "My;Table" ADD COLUMN a text DEFAULT 'x;y';
				/* block; /* nested; */ comment */
				CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
				CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END;
				SELECT E'it\\'s;'
				""");
		assertThat(statements).extracting(DdlStatement::line).containsExactly(2, 4, 5, 6);
		assertThat(statements).extracting(DdlStatement::sql)
			.containsExactly("ALTER TABLE \"My;Table\" ADD COLUMN a text DEFAULT 'x;y'",
					"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$",
					"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END",
					"SELECT E'it\\'s;'");
		assertThat(statements.get(0).tokens()).extracting(SqlToken::value)
			.containsExactly("alter", "table", "My;Table", "add", "column", "a", "text", "default", "x;y");
	}

	@Test
	void readsAllowancesFromCommentsBeforeInsideOrAfterTheStatement() {
		List<DdlStatement> statements = SqlScriptParser.parse("""
				-- zdm:allow create-index
				CREATE INDEX a ON t (a);
				CREATE INDEX b ON t (b); -- zdm:allow create-index, rename
				CREATE /* zdm:allow lock-table */ INDEX c ON t (c);
				CREATE INDEX d ON t (d);
				""");
		assertThat(statements).extracting(DdlStatement::allowed)
			.containsExactly(java.util.Set.of("create-index"), java.util.Set.of("create-index", "rename"),
					java.util.Set.of("lock-table"), java.util.Set.of());
	}

	@Test
	void readsTheReasonAfterTheCodesAndAColonWithTheCommentsLine() {
		List<DdlStatement> statements = SqlScriptParser.parse("""
				-- zdm:allow add-column-volatile-default: the table has 40 rows
				ALTER TABLE t ADD COLUMN id2 uuid DEFAULT gen_random_uuid();
				CREATE INDEX b ON t (b); -- zdm:allow create-index, rename:   nightly window, app stopped
				CREATE /* zdm:allow lock-table: the only writer is us */ INDEX c ON t (c);
				-- zdm:allow create-index
				CREATE INDEX d ON t (d);
				-- zdm:allow create-index small table, no colon
				CREATE INDEX e ON t (e);
				CREATE INDEX f ON t (f);
				""");
		assertThat(statements).extracting(DdlStatement::allows)
			.containsExactly(List.of(new DdlStatement.Allow("add-column-volatile-default", 1, "the table has 40 rows")),
					List.of(new DdlStatement.Allow("create-index", 3, "nightly window, app stopped"),
							new DdlStatement.Allow("rename", 3, "nightly window, app stopped")),
					List.of(new DdlStatement.Allow("lock-table", 4, "the only writer is us")),
					List.of(new DdlStatement.Allow("create-index", 5, null)),
					List.of(new DdlStatement.Allow("create-index", 7, null)), List.of());
		assertThat(statements).extracting(DdlStatement::allowedDescription)
			.containsExactly("add-column-volatile-default: the table has 40 rows",
					"create-index: nightly window, app stopped; rename: nightly window, app stopped",
					"lock-table: the only writer is us", "create-index", "create-index", null);
		assertThat(statements.get(1).allowed()).containsExactlyInAnyOrder("create-index", "rename");
	}

	@Test
	void knowsWhichStatementsRunOutsideATransaction() {
		assertThat(DdlStatement.of(1, "CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)").isNonTransactional()).isTrue();
		assertThat(DdlStatement.of(1, "DROP INDEX CONCURRENTLY IF EXISTS i").isNonTransactional()).isTrue();
		assertThat(DdlStatement.of(1, "REINDEX INDEX CONCURRENTLY i").isNonTransactional()).isTrue();
		assertThat(DdlStatement.of(1, "VACUUM t").isNonTransactional()).isTrue();
		assertThat(DdlStatement.of(1, "CREATE INDEX i ON t (a)").isNonTransactional()).isFalse();
		assertThat(DdlStatement.of(1, "REFRESH MATERIALIZED VIEW CONCURRENTLY v").isNonTransactional()).isFalse();
	}

	@Test
	void repackRunsOutsideATransactionOnlyConcurrently() {
		assertThat(DdlStatement.of(1, "REPACK (CONCURRENTLY) t").isNonTransactional()).isTrue();
		assertThat(DdlStatement.of(1, "repack (verbose, concurrently true) public.t USING INDEX t_pkey")
			.isNonTransactional()).isTrue();
		assertThat(DdlStatement.of(1, "REPACK t").isNonTransactional()).isFalse();
		assertThat(DdlStatement.of(1, "REPACK (CONCURRENTLY false) t").isNonTransactional()).isFalse();
		assertThat(DdlStatement.of(1, "REPACK (CONCURRENTLY off) t").isNonTransactional()).isFalse();
	}

	@Test
	void refusesUnterminatedLiterals() {
		assertThatIllegalArgumentException().isThrownBy(() -> SqlScriptParser.parse("SELECT 'abc;\nSELECT 1;"))
			.withMessageContaining("line 1");
		assertThatIllegalArgumentException().isThrownBy(() -> SqlScriptParser.parse("SELECT $$ abc"));
	}

}
