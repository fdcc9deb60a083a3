package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.declared.DeclaredOperations;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;
import dev.zdm.testing.HeartbeatCounter;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.SchemaSnapshot;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Tests for abandoning a migration against a real PostgreSQL, for a same-table and a
 * cross-table migration from each phase before contract, with two instances and the
 * application writing throughout: the instance that abandons first reads the old side and
 * keeps the new side in sync while the other still runs the earlier phase, and nothing is
 * dropped until that one abandons too; then what the expand created is dropped once, the
 * schema is the one before the expand, every acknowledged write reads back from the old
 * shape, zdm forgets the migration's data, and an instance that comes later changes
 * nothing.
 */
class AbandonTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 2_000;

	private static final String REASON = "the new address model is postponed";

	@TempDir
	Path scripts;

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final List<Started> started = new CopyOnWriteArrayList<>();

	@AfterEach
	void stop() {
		this.started.forEach(Started::stop);
	}

	static Stream<Arguments> abandonFromEachPhase() {
		List<Arguments> arguments = new ArrayList<>();
		for (boolean crossTable : new boolean[] { false, true }) {
			for (Phase phase : List.of(Phase.DUAL_WRITE, Phase.BACKFILL, Phase.READ_NEW)) {
				arguments.add(Arguments.of(crossTable, phase));
			}
		}
		return arguments.stream();
	}

	@ParameterizedTest(name = "cross-table {0}, from {1}")
	@MethodSource
	void abandonFromEachPhase(boolean crossTable, Phase from) throws Exception {
		String id = (crossTable ? "cross-" : "same-") + from.value();
		String table = id.replace('-', '_');
		this.jdbc.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, street text, city text)");
		this.jdbc.update("INSERT INTO " + table + " (id, street, city) SELECT 2 * i, 'street ' || i, "
				+ "CASE WHEN i % 97 = 0 THEN NULL ELSE 'city ' || i END FROM generate_series(1, ?) AS i", ROWS);
		new ZdmSchema(postgres.dataSource()).migrate();
		List<String> beforeExpand = schema();
		MigrationDefinition migration = migration(id, table, crossTable);
		Started a = start(id + "-a", migration, from);
		Started b = start(id + "-b", migration, from);
		List<Started> fleet = new CopyOnWriteArrayList<>(List.of(a, b));
		LiveWorkload workload = new LiveWorkload(postgres, table, crossTable, ROWS, () -> routing(fleet, id), 200)
			.oldOnlyAtExpand();
		workload.start(2);
		await().atMost(Duration.ofSeconds(90))
			.until(() -> a.phase(id) == from && b.phase(id) == from && workload.updates.get() > 20);
		// the first instance abandons; the other still runs the earlier phase
		stop(a);
		fleet.remove(a);
		Started abandoning = start(id + "-c", migration, Phase.ABANDON);
		fleet.add(abandoning);
		await().atMost(Duration.ofSeconds(20))
			.until(() -> abandoning.phase(id) == Phase.DUAL_WRITE && !b.phase(id).readsNew());
		abandoning.heartbeats().awaitHeartbeats(10);
		assertThat(abandoning.phase(id)).as("keeps the new side in sync").isEqualTo(Phase.DUAL_WRITE);
		assertThat(new MigrationStateRepository(postgres.dataSource()).find(id).isAbandoned()).isFalse();
		assertThat(schema()).as("nothing dropped while an instance runs " + from).isNotEqualTo(beforeExpand);
		if (from == Phase.READ_NEW) {
			assertThat(abandoning.backfill().progress(id)).as("the backfill, sampled before the abandon").isNotNull();
		}
		// an operator's live tuning of the backfill, which goes with the migration's data
		this.jdbc.update("INSERT INTO zdm_backfill_override (migration_id, max_rows_per_second) VALUES (?, 5000) "
				+ "ON CONFLICT (migration_id) DO UPDATE SET max_rows_per_second = 5000", id);
		AbandonProgress waiting = abandoning.abandon().progress(id);
		assertThat(waiting.state()).isEqualTo(AbandonProgress.WAITING);
		assertThat(waiting.detail()).contains("instance " + id + "-b (requests " + from);
		// the other instance abandons too: the new side goes
		stop(b);
		fleet.remove(b);
		Started last = start(id + "-d", migration, Phase.ABANDON);
		fleet.add(last);
		await().atMost(Duration.ofSeconds(60))
			.until(() -> isDone(abandoning, id) && isDone(last, id) && workload.updates.get() > 100);
		// the backfill went with the new side: health and meters no longer show it
		abandoning.heartbeats().awaitHeartbeats(2);
		assertThat(abandoning.backfill().progress(id)).isNull();
		workload.stop();
		assertThat(workload.failure()).isNull();
		assertThat(workload.inserts.get()).isPositive();
		assertThat(workload.deletes.get()).isPositive();
		assertThat(workload.lostWrites()).isZero();
		assertThat(schema()).isEqualTo(beforeExpand);
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM zdm_ddl_step WHERE migration_id = ? " + "AND step = 'abandon' AND state = 'done'",
				Integer.class, id))
			.isOne();
		assertThat(
				this.jdbc.queryForObject("SELECT count(*) FROM zdm_backfill WHERE migration_id = ?", Integer.class, id))
			.isZero();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM zdm_backfill_verification WHERE migration_id = ?",
				Integer.class, id))
			.isZero();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM zdm_backfill_override WHERE migration_id = ?",
				Integer.class, id))
			.isZero();
		assertThat(new OperatorActionRepository(postgres.dataSource()).recent(id, 10)).singleElement()
			.satisfies((action) -> {
				assertThat(action.action()).isEqualTo("abandon");
				assertThat(action.principal()).isEqualTo("configuration");
				assertThat(action.reason()).isEqualTo(REASON);
				assertThat(action.instanceId()).isIn(id + "-c", id + "-d");
			});
		// later: an instance that still declares abandon changes nothing, one that
		// declares another phase is refused
		Started later = start(id + "-e", migration, Phase.ABANDON);
		await().atMost(Duration.ofSeconds(20)).until(() -> isDone(later, id));
		assertThat(later.phase(id)).isEqualTo(Phase.EXPAND);
		assertThat(schema()).isEqualTo(beforeExpand);
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> start(id + "-f", migration, Phase.DUAL_WRITE))
			.withMessageContaining("was abandoned")
			.satisfies((ex) -> assertThat(ex.getAction()).contains("declare it under a new id"));
		assertThat(schema()).isEqualTo(beforeExpand);
	}

	private void stop(Started instance) {
		this.started.remove(instance);
		instance.stop();
	}

	private static Phase routing(List<Started> fleet, String id) {
		// the application's writes as the fleet routes them: both sides while any
		// instance dual-writes, the new side first while any reads it
		return fleet.stream().map((instance) -> instance.phase(id)).max(Enum::compareTo).orElse(Phase.EXPAND);
	}

	private static boolean isDone(Started instance, String id) {
		AbandonProgress progress = instance.abandon().progress(id);
		return progress != null && progress.state().equals(AbandonProgress.DONE);
	}

	// The schema but zdm's Flyway histories of the migration's steps, which stay.
	private List<String> schema() {
		return SchemaSnapshot.of(this.jdbc).stream().filter((line) -> !line.contains("zdm_ddl_expand_")).toList();
	}

	private MigrationDefinition migration(String id, String table, boolean crossTable) {
		MigrationDefinition.Builder builder = MigrationDefinition.builder(id)
			.table(table)
			.key("id")
			.backfill(BackfillFixtures.settings(500, 100, 1000, Duration.ZERO));
		if (crossTable) {
			return builder.targetTable(table + "_addresses")
				.targetKey("order_id")
				.up("street", "street")
				.up("city", "upper(city)")
				.expandLocations(List.of(DdlTestScripts.write(this.scripts.resolve(id), "V1__addresses.sql", """
						CREATE TABLE %1$s_addresses (order_id bigint PRIMARY KEY, street text, city text);
						CREATE INDEX CONCURRENTLY %1$s_addresses_city ON %1$s_addresses (city);
						""".formatted(table))))
				.build();
		}
		return builder.up("street_new", "street")
			.up("city_new", "upper(city)")
			.index(table + "_street_new", "street_new")
			.expandLocations(List.of(DdlTestScripts.write(this.scripts.resolve(id), "V1__new_columns.sql", """
					ALTER TABLE %1$s ADD COLUMN IF NOT EXISTS street_new text, ADD COLUMN IF NOT EXISTS city_new text;
					-- skipped: the column exists already, and stays after the abandon
					ALTER TABLE %1$s ADD COLUMN IF NOT EXISTS city text;
					CREATE INDEX CONCURRENTLY IF NOT EXISTS %1$s_city_new ON %1$s (city_new);
					""".formatted(table))))
			.build();
	}

	private Started start(String instance, MigrationDefinition migration, Phase requested) {
		DataSource dataSource = postgres.newDataSource(instance, 6);
		InstanceInfo info = InstanceInfo.ofThisProcess(instance, "test", "1");
		DeclaredOperations declared = new DeclaredOperations(dataSource, new DefaultResourceLoader());
		List<SchemaChangeContributor> contributors = List.of(new SameTableSyncTrigger(dataSource), declared);
		DdlSettings settings = DdlSettings.defaults().withBackoff(Duration.ofMillis(50), Duration.ofMillis(500));
		DdlRunners runners = DdlRunners.create(dataSource, settings, ExpandSettings.defaults(), info, TestFleet.TIMEOUT,
				contributors);
		AbandonRunner abandon = new AbandonRunner(dataSource, dataSource,
				new FlywayStep(dataSource, runners.executor(), runners.history(),
						new DdlScriptLoader(new DefaultResourceLoader())),
				runners.executor(), runners.history(), new MigrationStateRepository(dataSource),
				new FleetRegistry(dataSource), new OperatorActionRepository(dataSource), settings,
				new AbandonSettings(Map.of(migration.id(), REASON), Map.of()), info, TestFleet.TIMEOUT);
		HeartbeatCounter heartbeats = new HeartbeatCounter();
		BackfillProgressSampler backfill = new BackfillProgressSampler(new JdbcBackfillService(dataSource));
		List<MigrationParticipant> participants = List.of(runners.validator(), declared, runners.expand(),
				runners.contract(), abandon, TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of()),
				backfill, heartbeats);
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(migration.toBuilder().requestedPhase(requested).build()), info, TestFleet.SETTINGS,
				participants);
		Started started = new Started(controller, runners, abandon, backfill, heartbeats);
		try {
			controller.start();
		}
		catch (RuntimeException ex) {
			started.stop();
			throw ex;
		}
		this.started.add(started);
		return started;
	}

	private record Started(PhaseController controller, DdlRunners runners, AbandonRunner abandon,
			BackfillProgressSampler backfill, HeartbeatCounter heartbeats) {

		Phase phase(String id) {
			return this.controller.effectivePhase(id);
		}

		void stop() {
			this.controller.stop();
			this.abandon.destroy();
			this.runners.destroy();
		}

	}

}
