package dev.zdm.internal.ddl.script;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlTestScripts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

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
		postgres.jdbc().execute("CREATE INDEX items_code ON items (code)");
		postgres.jdbc()
			.execute("CREATE TABLE hosts (id bigint PRIMARY KEY, address cidr, seen timestamp(3), "
					+ "seen_tz timestamptz(3), took interval(2), flags varbit(4), label varchar(10) "
					+ "CONSTRAINT hosts_label_check CHECK (label <> ''), total numeric(6, 2) GENERATED ALWAYS AS "
					+ "(id * 2) STORED)");
		postgres.jdbc()
			.execute("CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at); CREATE TABLE events_2026 "
					+ "PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
		postgres.jdbc()
			.execute("CREATE MATERIALIZED VIEW item_totals AS SELECT owner_id, count(*) FROM items GROUP BY 1");
		postgres.jdbc().execute("CREATE VIEW item_names AS SELECT id, name FROM items");
		postgres.jdbc().execute("CREATE DOMAIN positive AS int");
		postgres.jdbc().execute("CREATE DOMAIN counted AS int NOT NULL DEFAULT 0 CHECK (VALUE >= 0)");
		postgres.jdbc().execute("CREATE TYPE item_state AS ENUM ('new', 'done')");
		postgres.jdbc().execute("CREATE SCHEMA reports");
	}

	@ParameterizedTest(name = "{1}: {0}")
	@CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
			DROP INDEX items_code                                            | drop-index
			DROP INDEX IF EXISTS public.items_code                           | drop-index
			ALTER TABLE events DETACH PARTITION events_2026                  | detach-partition
			ALTER TABLE items SET TABLESPACE pg_default                      | table-rewrite
			ALTER TABLE items SET UNLOGGED                                   | table-rewrite
			ALTER TABLE items SET LOGGED                                     | table-rewrite
			ALTER TABLE items SET ACCESS METHOD heap                         | table-rewrite
			ALTER TABLE hosts ALTER COLUMN total SET EXPRESSION AS (id * 3)  | table-rewrite
			ALTER INDEX items_code SET TABLESPACE pg_default                 | table-rewrite
			TRUNCATE items                                                   | truncate
			TRUNCATE TABLE ONLY owners CASCADE                               | truncate
			DROP DATABASE archive                                            | drop-database
			UPDATE items SET note = lower(name)                              | backfill-in-script
			DELETE FROM ONLY items WHERE qty = 0                             | backfill-in-script
			MERGE INTO items i USING owners o ON i.owner_id = o.id WHEN MATCHED THEN DELETE | backfill-in-script
			ALTER TABLE items ADD COLUMN doc json                            | json-column
			REFRESH MATERIALIZED VIEW item_totals                            | refresh-materialized-view
			ALTER TABLE items ADD COLUMN maker_id bigint REFERENCES owners (id) | add-constraint
			ALTER TABLE items ADD COLUMN rank int CHECK (rank > 0)           | add-constraint
			ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0) | add-constraint
			ALTER DOMAIN positive SET NOT NULL                               | add-constraint
			ALTER DOMAIN positive VALIDATE CONSTRAINT positive_check         | add-constraint
			ALTER SCHEMA reports RENAME TO reporting                         | rename
			ALTER TYPE item_state RENAME VALUE 'done' TO 'finished'          | rename
			ALTER TYPE item_state RENAME TO item_status                      | rename
			ALTER VIEW item_names RENAME COLUMN name TO title                | rename
			ALTER MATERIALIZED VIEW item_totals RENAME TO owner_totals       | rename
			ALTER TABLE items SET SCHEMA reports                             | rename
			ALTER TABLE items ALTER COLUMN name TYPE text COLLATE "C"        | alter-column-type
			ALTER TABLE hosts ALTER COLUMN label TYPE varchar(20)            | alter-column-type
			ALTER TABLE hosts ALTER COLUMN seen_tz TYPE timestamp(6)         | alter-column-type
			ALTER TABLE hosts ALTER COLUMN seen TYPE timestamp(0)            | alter-column-type
			ALTER TABLE hosts ALTER COLUMN address TYPE text                 | alter-column-type
			REPACK items                                                     | vacuum-full
			REPACK (CONCURRENTLY false) items                                | vacuum-full
			ALTER TABLE items ADD COLUMN stock counted                       | add-column-volatile-default
			DROP VIEW item_names                                             | drop-in-expand
			DROP MATERIALIZED VIEW IF EXISTS item_totals                     | drop-in-expand
			DROP SCHEMA reports                                              | drop-in-expand
			""")
	void peerHazardIsFoundWithItsCode(String statement, String code) {
		assertThat(this.checker.check(scripts("expand", statement + ";"), List.of(), Set.of()))
			.extracting((finding) -> finding.operation().code())
			.containsExactly(code);
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
			DROP INDEX CONCURRENTLY IF EXISTS items_code
			DROP INDEX IF EXISTS no_such_index
			ALTER TABLE events DETACH PARTITION events_2026 CONCURRENTLY
			ALTER TABLE events DETACH PARTITION events_2026 FINALIZE
			ALTER TABLE items SET (fillfactor = 90)
			ALTER TABLE items ADD COLUMN doc jsonb
			REFRESH MATERIALIZED VIEW CONCURRENTLY item_totals
			ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0) NOT VALID
			ALTER DOMAIN positive RENAME CONSTRAINT positive_check TO positive_value
			ALTER TYPE item_state ADD VALUE IF NOT EXISTS 'archived' AFTER 'done'
			ALTER INDEX items_code RENAME TO items_code_idx
			ALTER TABLE items ALTER COLUMN name TYPE text COLLATE "default"
			ALTER TABLE hosts ALTER COLUMN seen TYPE timestamp(6)
			ALTER TABLE hosts ALTER COLUMN seen TYPE timestamp
			ALTER TABLE hosts ALTER COLUMN seen_tz TYPE timestamptz
			ALTER TABLE hosts ALTER COLUMN took TYPE interval(4)
			ALTER TABLE hosts ALTER COLUMN address TYPE inet
			ALTER TABLE hosts ALTER COLUMN flags TYPE varbit(8)
			ALTER TABLE hosts ALTER COLUMN flags TYPE bit varying
			INSERT INTO owners (id) VALUES (1) ON CONFLICT DO NOTHING
			REPACK (CONCURRENTLY) items
			ALTER TABLE items ADD COLUMN stock positive
			""")
	void safeFormOfPeerHazardPasses(String statement) {
		assertThat(this.checker.check(scripts("expand", statement + ";"), List.of(), Set.of())).isEmpty();
	}

	@Test
	void objectsTheScriptsCreateMayBeChangedFreely() {
		List<DdlScript> expand = scripts("expand", """
				CREATE TABLE staging (id bigint PRIMARY KEY, doc text);
				CREATE INDEX staging_doc ON staging (doc);
				DROP INDEX staging_doc;
				UPDATE staging SET doc = upper(doc);
				DELETE FROM staging WHERE doc IS NULL;
				TRUNCATE staging;
				ALTER TABLE staging SET UNLOGGED;
				ALTER TABLE staging ADD COLUMN owner_id bigint REFERENCES owners (id);
				CREATE MATERIALIZED VIEW staging_totals AS SELECT count(*) FROM staging WITH NO DATA;
				REFRESH MATERIALIZED VIEW staging_totals;
				CREATE DOMAIN short_text AS text;
				ALTER DOMAIN short_text ADD CONSTRAINT short_text_length CHECK (length(VALUE) < 10);
				""");
		assertThat(this.checker.check(expand, List.of(), Set.of())).isEmpty();
	}

	@Test
	void columnOfADomainWithConstraintsCreatedByTheScriptsIsFound() {
		List<DdlScript> expand = scripts("expand", """
				CREATE DOMAIN percent AS int CHECK (VALUE BETWEEN 0 AND 100);
				ALTER TABLE items ADD COLUMN discount percent;
				""");
		assertThat(this.checker.check(expand, List.of(), Set.of())).singleElement()
			.satisfies((finding) -> assertThat(finding.detail())
				.isEqualTo("column discount of domain percent, which has constraints"));
	}

	@Test
	void primaryKeyUsingIndexOverANullableColumnScansUnlessACheckProvesIt() {
		postgres.jdbc().execute("CREATE TABLE codes (code text, label text)");
		postgres.jdbc().execute("CREATE UNIQUE INDEX codes_code ON codes (code)");
		List<DdlScript> unsafe = scripts("expand",
				"ALTER TABLE codes ADD CONSTRAINT codes_pkey PRIMARY KEY USING INDEX " + "codes_code;");
		assertThat(this.checker.check(unsafe, List.of(), Set.of())).singleElement().satisfies((finding) -> {
			assertThat(finding.operation()).isEqualTo(UnsafeOperation.SET_NOT_NULL);
			assertThat(finding.detail()).isEqualTo("PRIMARY KEY USING INDEX sets column code NOT NULL");
		});
		List<DdlScript> safe = scripts("expand", """
				ALTER TABLE codes ADD CONSTRAINT codes_code_not_null CHECK (code IS NOT NULL) NOT VALID;
				ALTER TABLE codes VALIDATE CONSTRAINT codes_code_not_null;
				ALTER TABLE codes ADD CONSTRAINT codes_pkey PRIMARY KEY USING INDEX codes_code;
				""");
		assertThat(this.checker.check(safe, List.of(), Set.of())).isEmpty();
		postgres.jdbc().execute("ALTER TABLE codes ALTER COLUMN code SET NOT NULL");
		assertThat(this.checker.check(unsafe, List.of(), Set.of())).isEmpty();
	}

	@Test
	void typeChangesTheCheckLetsThroughKeepTheTableAndItsIndexesOnThisPostgreSql() {
		postgres.jdbc()
			.execute("CREATE TABLE widened (id bigint PRIMARY KEY, seen timestamp(3), seen_tz timestamptz(3), "
					+ "took interval(2), at time(2), address cidr, flags varbit(4), code varchar(10), amount numeric(6, 2))");
		postgres.jdbc()
			.execute("INSERT INTO widened SELECT i, now(), now(), '1 second', now(), '10.0.0.0/8', B'1010', "
					+ "'c' || i, i FROM generate_series(1, 100) i");
		for (String column : List.of("seen", "seen_tz", "took", "at", "address", "flags", "code", "amount")) {
			postgres.jdbc().execute("CREATE INDEX widened_" + column + " ON widened (" + column + ")");
		}
		String before = storage("widened");
		List<String> changes = List.of("ALTER TABLE widened ALTER COLUMN seen TYPE timestamp(6)",
				"ALTER TABLE widened ALTER COLUMN seen_tz TYPE timestamptz",
				"ALTER TABLE widened ALTER COLUMN took TYPE interval",
				"ALTER TABLE widened ALTER COLUMN at TYPE time(5)",
				"ALTER TABLE widened ALTER COLUMN address TYPE inet",
				"ALTER TABLE widened ALTER COLUMN flags TYPE varbit", "ALTER TABLE widened ALTER COLUMN code TYPE text",
				"ALTER TABLE widened ALTER COLUMN amount TYPE numeric(9, 2)");
		for (String change : changes) {
			assertThat(this.checker.check(scripts("expand", change + ";"), List.of(), Set.of())).as(change).isEmpty();
			postgres.jdbc().execute(change);
		}
		assertThat(storage("widened")).isEqualTo(before);
	}

	@Test
	void collationChangeTheCheckFindsRebuildsTheIndexOnThisPostgreSql() {
		postgres.jdbc().execute("CREATE TABLE collated (id bigint PRIMARY KEY, name text)");
		postgres.jdbc().execute("CREATE INDEX collated_name ON collated (name)");
		String before = storage("collated");
		String change = "ALTER TABLE collated ALTER COLUMN name TYPE text COLLATE \"C\"";
		assertThat(this.checker.check(scripts("expand", change + ";"), List.of(), Set.of()))
			.extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.ALTER_COLUMN_TYPE);
		postgres.jdbc().execute(change);
		assertThat(storage("collated")).isNotEqualTo(before);
	}

	@Test
	void wideningAColumnWithACheckChecksEveryRowAgainOnThisPostgreSql() throws Exception {
		postgres.jdbc()
			.execute("CREATE FUNCTION counted_check(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS "
					+ "$$ BEGIN RAISE NOTICE 'checked %', $1; RETURN true; END $$");
		postgres.jdbc()
			.execute("CREATE TABLE labels (id bigint PRIMARY KEY, label varchar(10) CHECK (counted_check(label)))");
		postgres.jdbc().execute("INSERT INTO labels SELECT i, 'l' || i FROM generate_series(1, 3) i");
		String change = "ALTER TABLE labels ALTER COLUMN label TYPE varchar(20)";
		assertThat(this.checker.check(scripts("expand", change + ";"), List.of(), Set.of()))
			.extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.ALTER_COLUMN_TYPE);
		try (Connection connection = postgres.dataSource().getConnection();
				Statement statement = connection.createStatement()) {
			statement.execute(change);
			int checked = 0;
			for (SQLWarning warning = statement.getWarnings(); warning != null; warning = warning.getNextWarning()) {
				checked += warning.getMessage().startsWith("checked ") ? 1 : 0;
			}
			assertThat(checked).isEqualTo(3);
		}
	}

	@Test
	void attachingATableThatExistsAsAPartitionIsFoundUnlessTheScriptsCreateIt() {
		postgres.jdbc().execute("CREATE TABLE events_2027 (id bigint, at date)");
		String attach = "ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO "
				+ "('2028-01-01');";
		assertThat(this.checker.check(scripts("expand", attach), List.of(), Set.of())).singleElement()
			.satisfies((finding) -> {
				assertThat(finding.operation()).isEqualTo(UnsafeOperation.ATTACH_PARTITION_SCAN);
				assertThat(finding.detail()).isEqualTo("table events_2027 attached to events");
				assertThat(finding.operation().recipe()).contains("NOT VALID", "VALIDATE CONSTRAINT",
						"-- zdm:allow attach-partition-scan", "DROP CONSTRAINT");
			});
		assertThat(this.checker.check(scripts("expand", """
				CREATE TABLE events_2028 (id bigint, at date);
				ALTER TABLE events ATTACH PARTITION events_2028 FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');
				"""), List.of(), Set.of())).isEmpty();
		assertThat(this.checker.check(scripts("expand", """
				ALTER TABLE events_2027 ADD CONSTRAINT events_2027_bound
				    CHECK (at IS NOT NULL AND at >= DATE '2027-01-01' AND at < DATE '2028-01-01') NOT VALID;
				ALTER TABLE events_2027 VALIDATE CONSTRAINT events_2027_bound;
				-- zdm:allow attach-partition-scan: events_2027_bound implies the bound
				ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
				ALTER TABLE events_2027 DROP CONSTRAINT events_2027_bound;
				"""), List.of(), Set.of())).isEmpty();
	}

	@Test
	void attachRecipesValidatedCheckSparesTheScanOnThisPostgreSql() throws SQLException {
		postgres.jdbc().execute("CREATE TABLE bounded (id bigint, at date)");
		postgres.jdbc().execute("CREATE TABLE unbounded (id bigint, at date)");
		postgres.jdbc().execute("INSERT INTO bounded VALUES (1, DATE '2030-06-01')");
		postgres.jdbc().execute("INSERT INTO unbounded VALUES (1, DATE '2031-06-01')");
		postgres.jdbc()
			.execute("ALTER TABLE bounded ADD CONSTRAINT bounded_bound CHECK (at IS NOT NULL AND at >= DATE "
					+ "'2030-01-01' AND at < DATE '2031-01-01') NOT VALID");
		postgres.jdbc().execute("ALTER TABLE bounded VALIDATE CONSTRAINT bounded_bound");
		// PostgreSQL says at DEBUG1 whether it scans ("verifying table") or not
		try (Connection connection = postgres.dataSource().getConnection();
				Statement statement = connection.createStatement()) {
			statement.execute("SET client_min_messages = debug1");
			assertThat(messages(statement,
					"ALTER TABLE events ATTACH PARTITION unbounded FOR VALUES FROM "
							+ "('2031-01-01') TO ('2032-01-01')"))
				.anyMatch((message) -> message.startsWith("verifying table \"unbounded\""));
			assertThat(messages(statement,
					"ALTER TABLE events ATTACH PARTITION bounded FOR VALUES FROM ('2030-01-01') TO ('2031-01-01')"))
				.noneMatch((message) -> message.startsWith("verifying table"))
				.anyMatch((message) -> message.contains("is implied by existing constraints"));
		}
	}

	private static List<String> messages(Statement statement, String sql) throws SQLException {
		statement.clearWarnings();
		statement.execute(sql);
		List<String> messages = new ArrayList<>();
		for (SQLWarning warning = statement.getWarnings(); warning != null; warning = warning.getNextWarning()) {
			messages.add(warning.getMessage());
		}
		return messages;
	}

	// the files of a table and its indexes: a rewrite or a rebuild gives them new ones
	private static String storage(String table) {
		return postgres.jdbc()
			.queryForObject(
					"SELECT string_agg(c.relname || '=' || c.relfilenode, ',' ORDER BY c.relname) FROM pg_class c "
							+ "WHERE c.oid = ?::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ?::regclass)",
					String.class, table, table);
	}

	@Test
	void validatingADomainConstraintBlocksWritesUnlikeATableConstraint() throws Exception {
		postgres.jdbc().execute("CREATE DOMAIN quantity AS int");
		postgres.jdbc().execute("CREATE TABLE stock (id bigint PRIMARY KEY, amount quantity)");
		postgres.jdbc().execute("INSERT INTO stock VALUES (1, 1)");
		postgres.jdbc().execute("ALTER DOMAIN quantity ADD CONSTRAINT quantity_positive CHECK (VALUE > 0) NOT VALID");
		postgres.jdbc().execute("ALTER TABLE stock ADD CONSTRAINT stock_amount_positive CHECK (amount > 0) NOT VALID");
		String domain = "ALTER DOMAIN quantity VALIDATE CONSTRAINT quantity_positive";
		assertThat(this.checker.check(scripts("expand", domain + ";"), List.of(), Set.of()))
			.extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.ADD_CONSTRAINT);
		String table = "ALTER TABLE stock VALIDATE CONSTRAINT stock_amount_positive";
		assertThat(this.checker.check(scripts("expand", table + ";"), List.of(), Set.of())).isEmpty();
		try (Connection writer = postgres.dataSource().getConnection();
				Connection ddl = postgres.dataSource().getConnection();
				Statement write = writer.createStatement();
				Statement statement = ddl.createStatement()) {
			writer.setAutoCommit(false);
			write.execute("INSERT INTO stock VALUES (2, 2)");
			statement.execute("SET lock_timeout = '200ms'");
			assertThatExceptionOfType(SQLException.class).isThrownBy(() -> statement.execute(domain))
				.satisfies((ex) -> assertThat(ex.getSQLState()).isEqualTo("55P03"));
			statement.execute(table);
			writer.commit();
		}
	}

	@Test
	void dropsOfAViewOrSchemaAreForTheContract() {
		List<DdlScript> contract = scripts("contract", """
				DROP VIEW item_names;
				DROP SCHEMA reports;
				""");
		assertThat(this.checker.check(List.of(), contract, Set.of())).isEmpty();
	}

	@Test
	void typeChangeDetailSaysWhatIsCheckedOrRebuilt() {
		List<DdlScript> expand = scripts("expand", """
				ALTER TABLE hosts ALTER COLUMN label TYPE text;
				ALTER TABLE items ALTER COLUMN code TYPE varchar(20) COLLATE pg_catalog."C";
				""");
		assertThat(this.checker.check(expand, List.of(), Set.of())).extracting(UnsafeStatement::detail)
			.containsExactly("column label has check constraint hosts_label_check, checked again on every row",
					"column code changes its collation from default to C, which rebuilds its indexes");
	}

	@Test
	void newCodesAreAllowedByCommentAndForTheMigration() {
		List<DdlScript> expand = scripts("expand", """
				-- zdm:allow drop-index: the index is tiny
				DROP INDEX items_code;
				TRUNCATE items; -- zdm:allow truncate: test data only
				/* zdm:allow backfill-in-script, rename: 40 rows */
				UPDATE items SET note = name;
				ALTER TABLE items ADD COLUMN doc json; -- zdm:allow json-column: never compared
				ALTER TABLE items SET UNLOGGED;
				""");
		assertThat(this.checker.check(expand, List.of(), Set.of("table-rewrite"))).isEmpty();
		assertThat(this.checker.check(expand, List.of(), Set.of())).extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.TABLE_REWRITE);
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
