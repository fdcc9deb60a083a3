package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.declared.DeclaredOperations;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.SchemaSnapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link MigrationPlanner} and {@link MigrationPlan} on a real PostgreSQL: the
 * lock, scan and rewrite shown for each kind of statement, the unsafe-statement check's
 * findings, that the plan is what then runs, and that computing it writes nothing.
 */
class MigrationPlannerTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	private final DdlSettings settings = DdlSettings.defaults()
		.withLockTimeout(Duration.ofMillis(100))
		.withMaxAttempts(50)
		.withBackoff(Duration.ofMillis(20), Duration.ofMillis(100));

	@Test
	void planShowsTheLockScanAndRewriteOfEachKindOfStatementAndTheUnsafeFindings() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE kinds_parents (id bigint PRIMARY KEY)");
		jdbc.execute("CREATE TABLE kinds (id bigint PRIMARY KEY, email text NOT NULL, price int, parent_id bigint)");
		jdbc.execute("INSERT INTO kinds SELECT i, 'E' || i, i, NULL FROM generate_series(1, 2000) i");
		jdbc.execute("ANALYZE kinds");
		// the team's own index on the column the contract drops
		jdbc.execute("CREATE INDEX kinds_team_email ON kinds (email)");
		String expand = DdlTestScripts.write(this.scripts.resolve("kinds/expand"), "V1__expand.sql", """
				ALTER TABLE kinds ADD COLUMN email_address text;
				-- zdm:allow add-column-volatile-default
				ALTER TABLE kinds ADD COLUMN token uuid DEFAULT gen_random_uuid();
				CREATE INDEX CONCURRENTLY IF NOT EXISTS kinds_email ON kinds (email);
				CREATE INDEX kinds_price ON kinds (price);
				ALTER TABLE kinds ADD CONSTRAINT kinds_parent FOREIGN KEY (parent_id) REFERENCES kinds_parents (id)
				    NOT VALID;
				ALTER TABLE kinds VALIDATE CONSTRAINT kinds_parent;
				ALTER TABLE kinds ALTER COLUMN price TYPE bigint;
				CREATE TABLE kinds_notes (id bigint PRIMARY KEY, kind_id bigint REFERENCES kinds (id));
				""");
		String contract = DdlTestScripts.write(this.scripts.resolve("kinds/contract"), "V1__contract.sql", """
				ALTER TABLE kinds ALTER COLUMN price SET NOT NULL;
				ALTER TABLE kinds DROP COLUMN email;
				""");
		MigrationDefinition migration = MigrationDefinition.builder("kinds-email")
			.requestedPhase(Phase.EXPAND)
			.table("kinds")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.expandLocations(List.of(expand))
			.contractLocations(List.of(contract))
			.allowUnsafe(List.of("alter-column-type"))
			.notNull("email_address")
			.backfill(BackfillSettings.builder().maxRowsPerSecond(500).build())
			.build();
		MigrationPlan plan = planner(postgres.dataSource()).plan(migration);
		System.out.println(plan.render());
		// told before the contract deploy (a fault run's team index was named only once
		// every instance ran contract), with the final check's two holds
		assertThat(plan.phases()).filteredOn((phase) -> phase.phase().equals("contract"))
			.singleElement()
			.satisfies((contractPhase) -> assertThat(contractPhase.summary())
				.contains("or while an old column it drops holds values up maps to NULL")
				.contains("Besides, the contract of migration 'kinds-email' drops index kinds_team_email (CREATE "
						+ "INDEX kinds_team_email ON public.kinds USING btree (email)) on column email"));

		assertThat(statement(plan, "expand", "V1__expand.sql", 1)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("ACCESS EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("none");
			assertThat(statement.blocks()).isEqualTo("reads and writes");
			assertThat(statement.status()).isEqualTo("to run");
			assertThat(statement.tableRows()).isEqualTo(2000);
			assertThat(statement.tableBytes()).isPositive();
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 2)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("ACCESS EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("rewrite");
			assertThat(statement.findings()).singleElement().asString().startsWith("add-column-volatile-default");
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 3)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("SHARE UPDATE EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("scan");
			assertThat(statement.findings()).isEmpty();
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 4)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("SHARE");
			assertThat(statement.work()).isEqualTo("scan");
			assertThat(statement.blocks()).isEqualTo("writes");
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 5)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("SHARE ROW EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("none");
			assertThat(statement.alsoLocks()).isEqualTo("kinds_parents");
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 6)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("SHARE UPDATE EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("scan");
			assertThat(statement.blocks()).startsWith("no reads or writes");
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 7)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("ACCESS EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("rewrite");
		});
		assertThat(statement(plan, "expand", "V1__expand.sql", 8)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("SHARE ROW EXCLUSIVE");
			assertThat(statement.table()).isEqualTo("kinds");
			assertThat(statement.work()).isEqualTo("none");
		});
		// the sync trigger: its function takes no lock, the trigger SHARE ROW EXCLUSIVE
		assertThat(statement(plan, "expand", "contributor:SameTableSyncTrigger", 1).lock()).isEqualTo("none");
		assertThat(statement(plan, "expand", "contributor:SameTableSyncTrigger", 2).lock())
			.isEqualTo("SHARE ROW EXCLUSIVE");
		assertThat(statement(plan, "contract", "V1__contract.sql", 1)).satisfies((statement) -> {
			assertThat(statement.lock()).isEqualTo("ACCESS EXCLUSIVE");
			assertThat(statement.work()).isEqualTo("scan");
		});
		assertThat(statement(plan, "contract", "V1__contract.sql", 2).work()).isEqualTo("none");
		// the declared NOT NULL: a check not validated, its validation (a scan that lets
		// writes go on), then SET NOT NULL without a scan
		List<MigrationPlan.Statement> declared = plan.allStatements()
			.stream()
			.filter((statement) -> statement.source().equals("contributor:DeclaredOperations"))
			.toList();
		assertThat(declared).extracting(MigrationPlan.Statement::lock, MigrationPlan.Statement::work)
			.containsExactly(org.assertj.core.groups.Tuple.tuple("ACCESS EXCLUSIVE", "none"),
					org.assertj.core.groups.Tuple.tuple("SHARE UPDATE EXCLUSIVE", "scan"),
					org.assertj.core.groups.Tuple.tuple("ACCESS EXCLUSIVE", "none"),
					org.assertj.core.groups.Tuple.tuple("ACCESS EXCLUSIVE", "none"));
		assertThat(plan.findings())
			.extracting(MigrationPlan.Finding::index, MigrationPlan.Finding::code, MigrationPlan.Finding::verdict)
			.containsExactly(
					org.assertj.core.groups.Tuple.tuple(2, "add-column-volatile-default",
							"allowed by -- zdm:allow add-column-volatile-default"),
					org.assertj.core.groups.Tuple.tuple(4, "create-index", "refused at start-up"),
					org.assertj.core.groups.Tuple.tuple(7, "alter-column-type",
							"allowed by zdm.migrations.kinds-email.allow-unsafe"),
					org.assertj.core.groups.Tuple.tuple(1, "set-not-null", "refused at start-up"));
		assertThat(plan.backfill()).isNotNull();
		assertThat(plan.backfill().rows()).isEqualTo(2000);
		assertThat(plan.backfill().time()).isEqualTo(Duration.ofSeconds(4));
		assertThat(plan.backfill().how()).contains("max-rows-per-second (500)").doesNotContain("live overrides");
		// with the settings it runs with, such as an operator's live overrides
		MigrationPlan tuned = declaring(postgres.dataSource(), List.of(migration)).plan(migration.id(),
				(definition) -> BackfillSettings.builder().maxRowsPerSecond(250).build());
		assertThat(tuned.backfill().time()).isEqualTo(Duration.ofSeconds(8));
		assertThat(tuned.backfill().how())
			.contains("from the settings with the live overrides: max-rows-per-second (250)");
		// at the defaults, the estimate says how much longer a busy workload may make it
		// (a new user read "under a second" for a copy that took minutes)
		MigrationPlan defaults = declaring(postgres.dataSource(), List.of(migration)).plan(migration.id(),
				(definition) -> BackfillSettings.defaults());
		// and at the least pace it keeps there, in batches of min-batch-size rows, 2.5%
		// of
		// the time (40 times the shortest once read minutes for a copy that took hours)
		assertThat(defaults.backfill().how()).contains("which is the shortest it can take")
			.contains("beside a busy workload the copy may run as little as 2.5% of the time, in batches of 5 ms or "
					+ "of min-batch-size (100) rows: about 4 s at 500 rows/s, longer where such a batch takes longer");
		assertThat(plan.backfill().how()).doesNotContain("busy workload");
		assertThat(plan.tables()).extracting(MigrationPlan.TableSize::table).containsExactly("kinds", "kinds_parents");
		String text = plan.render();
		assertThat(text)
			.contains("Phase expand: ", "Phase dual-write: ", "Phase backfill: ", "Phase read-new: ",
					"Phase contract: ")
			.contains("1. [to run] V1__expand.sql #1: ALTER TABLE kinds ADD COLUMN email_address text")
			.contains("lock: ACCESS EXCLUSIVE on kinds (about 2,000 rows, ")
			.contains("REWRITES the table under the lock")
			.contains("estimated time 4 s at 500 rows/s")
			.contains("create-index, refused at start-up");
	}

	@Test
	void planOfTheStatementsThatRunIsWhatTheDdlHistoryRecordsAfterTheRun() {
		JdbcTemplate jdbc = postgres.jdbc();
		new ZdmSchema(postgres.dataSource()).migrate();
		jdbc.execute("CREATE TABLE walked (id bigint PRIMARY KEY, email text NOT NULL, name text)");
		jdbc.execute("INSERT INTO walked SELECT i, 'E' || i, 'n' FROM generate_series(1, 100) i");
		String expand = DdlTestScripts.write(this.scripts.resolve("walked/expand"), "V1__expand.sql", """
				ALTER TABLE walked ADD COLUMN email_address text;
				CREATE INDEX CONCURRENTLY IF NOT EXISTS walked_email_address ON walked (email_address);
				""");
		String contract = DdlTestScripts.write(this.scripts.resolve("walked/contract"), "V1__contract.sql",
				"ALTER TABLE walked DROP COLUMN email;");
		MigrationDefinition migration = MigrationDefinition.builder("walked-email")
			.requestedPhase(Phase.CONTRACT)
			.table("public.walked")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.expandLocations(List.of(expand))
			.contractLocations(List.of(contract))
			.column("nickname", "text", null)
			.notNull("email_address")
			.build();
		DataSource dataSource = postgres.newDataSource("walked", 6);
		List<SchemaChangeContributor> contributors = List.of(new SameTableSyncTrigger(dataSource),
				new DeclaredOperations(dataSource, new DefaultResourceLoader()));
		MigrationPlanner planner = planner(dataSource, contributors, List.of());
		MigrationPlan before = planner.plan(migration);
		InstanceInfo instance = new InstanceInfo("walked-a", null, "localhost", 1);
		DdlRunners runners = DdlRunners.create(dataSource, this.settings,
				new ExpandSettings(true, Duration.ofMinutes(1), Set.of()), instance, Duration.ofSeconds(30),
				contributors);
		try {
			new MigrationStateRepository(dataSource).register(migration.id());
			runners.expand().beforeJoin(migration, MigrationState.initial(migration.id()));
			MigrationPlan afterExpand = planner.plan(migration);
			assertThat(afterExpand.phases().get(0).statements()).extracting(MigrationPlan.Statement::status)
				.containsOnly("applied");
			// the backfill's part, so that the declared NOT NULL validates
			jdbc.update("UPDATE walked SET email_address = lower(email)");
			new FleetRegistry(dataSource).heartbeat(instance, migration.id(), Phase.CONTRACT, Phase.CONTRACT, null);
			assertThat(runners.contract().contract(migration)).isTrue();
		}
		finally {
			runners.destroy();
		}
		List<String> recorded = new DdlHistoryRepository(dataSource).status(migration.id(), 0)
			.statements()
			.stream()
			.map((statement) -> statement.step() + " " + statement.source() + " #" + statement.index() + " "
					+ statement.state() + ": " + statement.sql())
			.toList();
		List<String> planned = before.allStatements()
			.stream()
			.map((statement) -> statement.step() + " " + statement.source() + " #" + statement.index() + " applied: "
					+ statement.sql())
			.toList();
		// the contract's own: the old column's NOT NULL relaxed and the trigger turned
		// guard before the scripts, the trigger dropped after them
		assertThat(planned).hasSize(15).containsExactlyElementsOf(recorded);
		assertThat(planned).filteredOn((statement) -> statement.startsWith("contract contributor:SameTableSyncTrigger"))
			.extracting((statement) -> statement.substring(0, statement.indexOf(": ")))
			.containsExactly("contract contributor:SameTableSyncTrigger #1 applied",
					"contract contributor:SameTableSyncTrigger #2 applied",
					"contract contributor:SameTableSyncTrigger #3 applied",
					"contract contributor:SameTableSyncTrigger:after-scripts #1 applied",
					"contract contributor:SameTableSyncTrigger:after-scripts #2 applied");
		MigrationPlan after = planner.plan(migration);
		assertThat(after.contracted()).isTrue();
		assertThat(after.allStatements()).extracting(MigrationPlan.Statement::sql)
			.containsExactlyElementsOf(before.allStatements().stream().map(MigrationPlan.Statement::sql).toList());
	}

	// a paused copy has no rate: the estimate comes from the settings again, for the
	// rows left, and does not say that no backfill has run
	@Test
	void estimateOfAPausedCopyCountsTheRowsLeftFromTheSettings() {
		JdbcTemplate jdbc = postgres.jdbc();
		new ZdmSchema(postgres.dataSource()).migrate();
		jdbc.execute("CREATE TABLE halted (id bigint PRIMARY KEY, email text, email_address text)");
		jdbc.execute("INSERT INTO halted SELECT i, 'E' || i, NULL FROM generate_series(1, 2000) i");
		jdbc.execute("ANALYZE halted");
		MigrationDefinition migration = MigrationDefinition.builder("halted-email")
			.requestedPhase(Phase.BACKFILL)
			.table("halted")
			.up("email_address", "lower(email)")
			.backfill(BackfillSettings.builder().maxRowsPerSecond(500).build())
			.build();
		new MigrationStateRepository(postgres.dataSource()).register(migration.id());
		jdbc.update(
				"INSERT INTO zdm_backfill (migration_id, state, paused, rows_done) VALUES (?, 'paused', true, 1500)",
				migration.id());
		MigrationPlan.BackfillEstimate estimate = planner(postgres.dataSource()).plan(migration).backfill();
		assertThat(estimate.how()).startsWith("the backfill walks no rows now (paused), so for the 500 rows "
				+ "left from the settings: max-rows-per-second (500)");
		assertThat(estimate.time()).isEqualTo(Duration.ofSeconds(1));
	}

	@Test
	void computingThePlanWritesNothingEvenThroughAContributor() {
		JdbcTemplate jdbc = postgres.jdbc();
		new ZdmSchema(postgres.dataSource()).migrate();
		jdbc.execute("CREATE TABLE untouched (id bigint PRIMARY KEY, email text)");
		jdbc.execute("CREATE TABLE untouched_log (line text)");
		String expand = DdlTestScripts.write(this.scripts.resolve("untouched/expand"), "V1__expand.sql",
				"ALTER TABLE untouched ADD COLUMN email_address text;");
		MigrationDefinition migration = MigrationDefinition.builder("untouched-email")
			.requestedPhase(Phase.EXPAND)
			.table("untouched")
			.up("email_address", "lower(email)")
			.expandLocations(List.of(expand))
			.build();
		List<String> schema = SchemaSnapshot.of(jdbc);
		String zdmRows = zdmRows(jdbc);
		DataSource dataSource = postgres.dataSource();
		MigrationPlan plan = planner(dataSource).plan(migration);
		assertThat(plan.allStatements()).isNotEmpty();
		assertThat(planner(dataSource).plan("no-such-migration")).isNull();
		assertThat(SchemaSnapshot.of(jdbc)).isEqualTo(schema);
		assertThat(zdmRows(jdbc)).isEqualTo(zdmRows);
		SchemaChangeContributor writer = new SchemaChangeContributor() {

			@Override
			public List<String> expandStatements(MigrationDefinition definition) {
				new JdbcTemplate(dataSource).update("INSERT INTO untouched_log VALUES ('planned')");
				return List.of();
			}

			@Override
			public List<String> contractStatements(MigrationDefinition definition) {
				return List.of();
			}

		};
		assertThatExceptionOfType(RuntimeException.class)
			.isThrownBy(() -> planner(dataSource, List.of(writer), List.of()).plan(migration))
			.withMessageContaining("read-only transaction");
		assertThat(jdbc.queryForObject("SELECT count(*) FROM untouched_log", Integer.class)).isZero();
		assertThat(SchemaSnapshot.of(jdbc)).isEqualTo(schema);
	}

	private static String zdmRows(JdbcTemplate jdbc) {
		return jdbc.queryForObject("""
				SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()',
				    query_to_xml('SELECT count(*) AS n FROM ' || quote_ident(c.relname), false, true, '')))[1]::text,
				    ', ' ORDER BY c.relname)
				FROM pg_class c WHERE c.relname LIKE 'zdm\\_%' AND c.relkind = 'r'
				""", String.class);
	}

	private static MigrationPlan.Statement statement(MigrationPlan plan, String step, String source, int index) {
		return plan.allStatements()
			.stream()
			.filter((statement) -> statement.step().equals(step) && statement.source().equals(source)
					&& statement.index() == index)
			.findFirst()
			.orElseThrow(() -> new AssertionError(
					"No statement " + step + " " + source + " #" + index + " in\n" + plan.render()));
	}

	private MigrationPlanner planner(DataSource dataSource) {
		return declaring(dataSource, List.of());
	}

	private MigrationPlanner declaring(DataSource dataSource, List<MigrationDefinition> migrations) {
		return planner(dataSource, List.of(new SameTableSyncTrigger(dataSource),
				new DeclaredOperations(dataSource, new DefaultResourceLoader())), migrations);
	}

	private MigrationPlanner planner(DataSource dataSource, List<SchemaChangeContributor> contributors,
			List<MigrationDefinition> migrations) {
		DdlHistoryRepository history = new DdlHistoryRepository(dataSource);
		LockSafeExecutor executor = new LockSafeExecutor(dataSource, this.settings, history,
				new LockInspector(dataSource));
		FlywayStep scripts = new FlywayStep(dataSource, executor, history,
				new DdlScriptLoader(new DefaultResourceLoader()));
		return new MigrationPlanner(migrations, dataSource, scripts,
				new SchemaChangeContributions(contributors, executor), history,
				new MigrationStateRepository(dataSource), this.settings, new JdbcBackfillService(dataSource));
	}

}
