package dev.zdm.internal.ddl.script;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.DdlStatus;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests that every {@code UnsafeOperation} in an expand script is refused at start-up,
 * with the statement, the reason and the safe recipe, before anything is written, and
 * that it runs once it is allowed.
 */
class UnsafeOperationsTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	static Path scripts;

	private static final String FINGERPRINT = """
			SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
			  SELECT c.relname || ':' || c.relkind::text || ':' || c.relfilenode AS item
			  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
			  UNION ALL
			  SELECT c.relname || '.' || a.attname || ':' || a.atttypid || ':' || a.attnotnull
			  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
			  UNION ALL
			  SELECT c.conname || ':' || c.convalidated
			  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
			) items
			""";

	private final InstanceInfo instance = new InstanceInfo("unsafe-tests", null, "localhost", 1);

	@BeforeAll
	static void createOwners() {
		postgres.jdbc().execute("CREATE TABLE owners (id bigint PRIMARY KEY)");
		postgres.jdbc()
			.execute("CREATE TABLE parts (id bigint NOT NULL, name text, code varchar(10), qty int, owner_id bigint) "
					+ "PARTITION BY RANGE (id)");
	}

	static Stream<Arguments> unsafeOperations() {
		return Stream.of(
				unsafe("create-index", "CREATE INDEX {t}_name ON {t} (name)", "SHARE lock",
						"CREATE INDEX CONCURRENTLY"),
				unsafe("add-column-volatile-default", "ALTER TABLE {t} ADD COLUMN token uuid DEFAULT gen_random_uuid()",
						"rewrites the whole table", "without a default"),
				unsafe("add-column-not-null", "ALTER TABLE {t} ADD COLUMN note text NOT NULL",
						"fails if it has any row", "Add the column as nullable"),
				unsafe("alter-column-type", "ALTER TABLE {t} ALTER COLUMN qty TYPE bigint", "rewrites the table",
						"Add a new column of the new type"),
				unsafe("set-not-null", "ALTER TABLE {t} ALTER COLUMN name SET NOT NULL", "scans the whole table",
						"CHECK (col IS NOT NULL) NOT VALID"),
				unsafe("add-constraint",
						"ALTER TABLE {t} ADD CONSTRAINT {t}_owner_fk FOREIGN KEY (owner_id) REFERENCES owners (id)",
						"without NOT VALID checks every row", "VALIDATE CONSTRAINT"),
				unsafe("add-constraint", "ALTER TABLE {t} ADD CONSTRAINT {t}_qty_check CHECK (qty > 0)",
						"without NOT VALID checks every row", "VALIDATE CONSTRAINT"),
				unsafe("add-unique-constraint", "ALTER TABLE {t} ADD CONSTRAINT {t}_code_key UNIQUE (code)",
						"builds its index", "UNIQUE USING INDEX"),
				unsafe("rename", "ALTER TABLE {t} RENAME COLUMN name TO title", "breaks every instance",
						"Do not rename in place"),
				unsafe("rename", "ALTER TABLE {t} RENAME TO {t}_renamed", "breaks every instance",
						"Do not rename in place"),
				unsafe("drop-in-expand", "ALTER TABLE {t} DROP COLUMN code", "in an expand script",
						"Move the DROP to the migration's contract script"),
				unsafe("drop-in-expand", "DROP TABLE {t}", "in an expand script",
						"Move the DROP to the migration's contract script"),
				unsafe("vacuum-full", "VACUUM FULL {t}", "rewrites the table", "plain VACUUM"),
				unsafe("cluster", "CLUSTER {t} USING {t}_pkey", "rewrites the table", "pg_repack"),
				unsafe("lock-table", "LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE", "explicit lock",
						"Remove the LOCK TABLE"),
				unsafe("reindex", "REINDEX TABLE {t}", "blocks writes", "REINDEX ... CONCURRENTLY"),
				unsafe("drop-index", "DROP INDEX {t}_code", "ACCESS EXCLUSIVE lock on the index's table",
						"DROP INDEX CONCURRENTLY IF EXISTS"),
				unsafe("table-rewrite", "ALTER TABLE {t} SET UNLOGGED", "writes the whole table or index anew",
						"pg_repack"),
				unsafe("truncate", "TRUNCATE {t}", "empties a table the running instances use",
						"drop it in the contract script"),
				unsafe("drop-database", "DROP DATABASE IF EXISTS zdm_no_such_database", "destroys a whole database",
						"drop databases by hand"),
				unsafe("backfill-in-script", "UPDATE {t} SET qty = qty + 1", "locks every row it changes",
						"declare the migration's up expressions"),
				unsafe("json-column", "ALTER TABLE {t} ADD COLUMN doc json", "no equality operator", "Use jsonb"),
				unsafe("refresh-materialized-view", "REFRESH MATERIALIZED VIEW {t}_totals", "blocking every read of it",
						"REFRESH MATERIALIZED VIEW CONCURRENTLY"),
				unsafe("add-constraint", "ALTER TABLE {t} ADD COLUMN maker_id bigint REFERENCES owners (id)",
						"without NOT VALID checks every row", "add it without REFERENCES or CHECK first"),
				unsafe("alter-column-type", "ALTER TABLE {t} ALTER COLUMN name TYPE text COLLATE \"C\"",
						"a new collation rebuilds the column's indexes", "Add a new column of the new type"),
				unsafe("attach-partition-scan", "ALTER TABLE parts ATTACH PARTITION {t} FOR VALUES FROM (1) TO (1000)",
						"scans the attached table for rows outside the partition bound",
						"ADD CONSTRAINT <table>_bound CHECK"));
	}

	private static Arguments unsafe(String code, String statement, String reason, String recipe) {
		return Arguments.of(code, statement, reason, recipe);
	}

	@ParameterizedTest(name = "{1}")
	@MethodSource("unsafeOperations")
	void unsafeOperationIsRefusedAtStartUpWithItsMessageAndTheDatabaseUnchanged(String code, String template,
			String reason, String recipe) {
		String table = createTable();
		String statement = template.replace("{t}", table);
		MigrationDefinition migration = migration(table, statement + ";", List.of());
		String before = fingerprint();
		PhaseController controller = TestEngine.phaseController(postgres.dataSource(), List.of(migration),
				this.instance, TestFleet.SETTINGS, runner().participants());
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(controller::start).satisfies((ex) -> {
			assertThat(ex.getDescription()).contains("V1__unsafe.sql line 1")
				.contains(statement)
				.contains("(" + code + ")")
				.contains(reason);
			assertThat(ex.getAction()).contains(recipe)
				.contains("-- zdm:allow <code>")
				.contains("zdm.migrations." + migration.id() + ".allow-unsafe=" + code);
		});
		assertThat(fingerprint()).isEqualTo(before);
		assertThat(new DdlHistoryRepository(postgres.dataSource()).status(migration.id(), 1).statements()).isEmpty();
	}

	@ParameterizedTest(name = "{1}")
	@MethodSource("unsafeOperations")
	void unsafeOperationRunsWhenAllowedForTheStatementOrTheMigration(String code, String template) {
		String table = createTable();
		if (code.equals("add-column-not-null")) {
			postgres.jdbc().execute("DELETE FROM " + table);
		}
		String statement = template.replace("{t}", table);
		boolean byComment = statement.hashCode() % 2 == 0;
		MigrationDefinition migration = migration(table,
				(byComment ? "-- zdm:allow " + code + "\n" : "") + statement + ";",
				byComment ? List.of() : List.of(code));
		new ZdmSchema(postgres.dataSource()).migrate();
		new MigrationStateRepository(postgres.dataSource()).register(migration.id());
		DdlRunners runner = runner();
		runner.validator().validate(migration, MigrationState.initial(migration.id()));
		runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		DdlStatus.Statement ran = runner.history().status(migration.id(), 1).lastStatement();
		assertThat(ran.sql()).isEqualTo(statement);
		assertThat(ran.state()).isEqualTo("applied");
	}

	private static final ExpandSettings AT_STARTUP = new ExpandSettings(true, Duration.ofMinutes(10), Set.of());

	private static int tables;

	private static synchronized String createTable() {
		String table = "t_" + (++tables);
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE " + table
				+ " (id bigint PRIMARY KEY, name text, code varchar(10), qty int, owner_id bigint)");
		jdbc.execute("INSERT INTO " + table + " SELECT i, 'n' || i, 'c' || i, i, NULL FROM generate_series(1, 100) i");
		jdbc.execute("CREATE INDEX " + table + "_code ON " + table + " (code)");
		jdbc.execute("CREATE MATERIALIZED VIEW " + table + "_totals AS SELECT count(*) FROM generate_series(1, 10)");
		return table;
	}

	private static MigrationDefinition migration(String table, String script, List<String> allowed) {
		String location = DdlTestScripts.write(scripts.resolve(table), "V1__unsafe.sql", script);
		return MigrationDefinition.builder(table.replace('_', '-'))
			.table("public." + table)
			.expandLocations(List.of(location))
			.allowUnsafe(allowed)
			.build();
	}

	private DdlRunners runner() {
		return DdlRunners.create(postgres.dataSource(), DdlSettings.defaults(), AT_STARTUP, this.instance,
				Duration.ofSeconds(5), List.of());
	}

	private static String fingerprint() {
		return postgres.jdbc().queryForObject(FINGERPRINT, String.class);
	}

}
