package dev.zdm.internal.ddl.script;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the unsafe-statement check flags {@code CREATE INDEX CONCURRENTLY} on a
 * partitioned table, which PostgreSQL refuses, and lets the recipe through: an index
 * {@code ON ONLY} the parent, built concurrently per partition and attached.
 */
class PartitionedIndexCheckTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	private final UnsafeStatementChecker checker = new UnsafeStatementChecker(new DdlCatalog(postgres.dataSource()));

	@BeforeAll
	static void createPartitionedTable() {
		postgres.jdbc().execute("CREATE TABLE events (id bigint, at date NOT NULL, kind text) PARTITION BY RANGE (at)");
		postgres.jdbc()
			.execute("CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
		postgres.jdbc()
			.execute("CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
		postgres.jdbc()
			.execute("INSERT INTO events SELECT i, DATE '2025-01-01' + (i % 700), 'k' || (i % 7) "
					+ "FROM generate_series(1, 5000) i");
	}

	@Test
	void concurrentIndexOnAPartitionedTableIsFlaggedWithTheRecipe() {
		List<UnsafeStatement> findings = check("CREATE INDEX CONCURRENTLY IF NOT EXISTS events_kind ON events (kind);");
		assertThat(findings).singleElement().satisfies((finding) -> {
			assertThat(finding.operation()).isEqualTo(UnsafeOperation.PARTITIONED_CONCURRENT_INDEX);
			assertThat(finding.describe()).contains("partitioned-concurrent-index")
				.contains("PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table")
				.contains("on partitioned table events");
			assertThat(finding.operation().recipe()).contains("ON ONLY <parent>").contains("ATTACH PARTITION");
		});
	}

	@Test
	void concurrentIndexOnOnlyThePartitionedParentIsFlagged() {
		assertThat(check("CREATE UNIQUE INDEX CONCURRENTLY events_id ON ONLY public.events (id, at);"))
			.extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.PARTITIONED_CONCURRENT_INDEX);
	}

	@Test
	void concurrentIndexOnATablePartitionedByTheScriptsIsFlagged() {
		assertThat(check("CREATE TABLE logs (id bigint, at date) PARTITION BY RANGE (at);\n"
				+ "CREATE INDEX CONCURRENTLY logs_at ON logs (at);"))
			.extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.PARTITIONED_CONCURRENT_INDEX);
	}

	@Test
	void plainIndexOnAPartitionedTableIsStillACreateIndexFinding() {
		assertThat(check("CREATE INDEX events_kind ON events (kind);")).extracting(UnsafeStatement::operation)
			.containsExactly(UnsafeOperation.CREATE_INDEX);
	}

	@Test
	void theRecipeIsNotFlaggedAndBuildsAValidIndexThroughTheExecutor() {
		String recipe = """
				CREATE INDEX IF NOT EXISTS events_kind ON ONLY events (kind);
				CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2025_kind ON events_2025 (kind);
				ALTER INDEX events_kind ATTACH PARTITION events_2025_kind;
				CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2026_kind ON events_2026 (kind);
				ALTER INDEX events_kind ATTACH PARTITION events_2026_kind;
				""";
		assertThat(check(recipe)).isEmpty();
		new ZdmSchema(postgres.dataSource()).migrate();
		String location = DdlTestScripts.write(this.scripts.resolve("recipe"), "V1__events_kind.sql", recipe);
		MigrationDefinition migration = MigrationDefinition.builder("events-kind")
			.table("public.events")
			.key("id")
			.expandLocations(List.of(location))
			.build();
		new MigrationStateRepository(postgres.dataSource()).register(migration.id());
		DdlRunners runner = DdlRunners.create(postgres.dataSource(), DdlSettings.defaults(),
				new ExpandSettings(true, Duration.ofMinutes(10), Set.of()),
				new InstanceInfo("partition-tests", null, "localhost", 1), Duration.ofSeconds(5), List.of());
		runner.validator().validate(migration, MigrationState.initial(migration.id()));
		runner.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
		assertThat(postgres.jdbc()
			.queryForObject("SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_kind'::regclass",
					Boolean.class))
			.isTrue();
		runner.destroy();
	}

	private List<UnsafeStatement> check(String sql) {
		String location = DdlTestScripts.write(this.scripts.resolve("s" + sql.hashCode()), "V1__check.sql", sql);
		List<DdlScript> expand = new DdlScriptLoader(new DefaultResourceLoader()).load("check", DdlStep.EXPAND,
				List.of(location));
		return this.checker.check(expand, List.of(), Set.of());
	}

}
