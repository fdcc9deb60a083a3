package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.LiveWorkload;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;

/**
 * Tests for migrations of a table keyed by several columns ({@code (tenant, id)}, tenants
 * whose names need quoting in a key's text form), inside the table and into another keyed
 * by {@code (tenant, order_id)}, and of a table keyed by a {@code uuid}, a type with no
 * {@code max}: the copy and the verification walk the key under inserts, updates and
 * deletes, the checkpoint holds the key's text form, and the final check before the
 * contract names disagreeing keys by all their columns.
 */
class KeyShapesBackfillTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 10_000;

	private final List<PhaseController> controllers = new ArrayList<>();

	private final JdbcTemplate jdbc = postgres.jdbc();

	private final BackfillService service = new JdbcBackfillService(postgres.dataSource());

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void sameTableCopyAndVerificationWalkACompositeKeyUnderLiveInsertsUpdatesAndDeletes() throws Exception {
		reachesReadNewUnderLiveWrites("tenants", "tenant_rows", false, true);
	}

	@Test
	void crossTableCopyAndVerificationWalkACompositeKeyUnderLiveInsertsUpdatesAndDeletes() throws Exception {
		reachesReadNewUnderLiveWrites("tenants-cross", "tenant_orders", true, true);
	}

	@Test
	void sameTableCopyAndVerificationWalkAUuidKeyUnderLiveInsertsUpdatesAndDeletes() throws Exception {
		reachesReadNewUnderLiveWrites("uids", "uid_rows", false, false);
	}

	@Test
	void crossTableCopyAndVerificationWalkAUuidKeyUnderLiveInsertsUpdatesAndDeletes() throws Exception {
		reachesReadNewUnderLiveWrites("uids-cross", "uid_orders", true, false);
	}

	// keyed by (tenant, id), or by a uuid
	private void reachesReadNewUnderLiveWrites(String id, String table, boolean crossTable, boolean tenants)
			throws Exception {
		if (tenants) {
			LiveWorkload.createWithTenants(postgres, table, crossTable, ROWS);
		}
		else {
			LiveWorkload.createWithUuidKeys(postgres, table, crossTable, ROWS);
		}
		MigrationDefinition.Builder builder = MigrationDefinition.builder(id)
			.requestedPhase(Phase.READ_NEW)
			.table(table)
			.backfill(BackfillFixtures.settings(200, 100, 1000, Duration.ofMillis(20))
				.withVerification(500, Duration.ofMillis(20)));
		if (crossTable && tenants) {
			builder.targetTable(table + "_addresses").targetKey("tenant", "order_id");
		}
		else if (crossTable) {
			builder.targetTable(table + "_addresses").targetKey("order_uid").up("order_id", "id");
		}
		MigrationDefinition migration = crossTable ? builder.up("street", "street").up("city", "upper(city)").build()
				: builder.up("street_new", "street").up("city_new", "upper(city)").build();
		PhaseController controller = start(id + "-a", migration);
		LiveWorkload workload = new LiveWorkload(postgres, table, crossTable, ROWS,
				() -> controller.status(id).effective(), 400);
		if (tenants) {
			workload.withTenants();
		}
		workload.start(3);
		long[] atCopy = null;
		long[] atVerification = null;
		long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
		while (controller.status(id).effective() != Phase.READ_NEW) {
			assertThat(System.nanoTime()).as("read-new within 120 s").isLessThan(deadline);
			assertThat(workload.failure()).isNull();
			BackfillProgress progress = this.service.progress(id);
			if (atCopy == null && progress != null && progress.copiedAt() == null && progress.rowsDone() > 0) {
				atCopy = workload.counts();
			}
			if (atVerification == null && progress != null && progress.verifying() != null
					&& progress.verifying().rowsChecked() > 0) {
				atVerification = workload.counts();
			}
			Thread.sleep(5);
		}
		long[] atReadNew = workload.counts();
		workload.awaitEveryKindBeyond(atReadNew, 10);
		workload.stop();
		assertThat(workload.failure()).isNull();
		assertThat(atCopy).as("copy seen in flight").isNotNull();
		assertThat(atVerification).as("verification seen in flight").isNotNull();
		for (int kind = 0; kind < 3; kind++) {
			assertThat(atVerification[kind]).as("writes of kind %s during the copy", kind).isGreaterThan(atCopy[kind]);
			assertThat(atReadNew[kind]).as("writes of kind %s during the verification", kind)
				.isGreaterThan(atVerification[kind]);
		}
		assertThat(LiveWorkload.disagreeing(postgres, table, crossTable)).as("disagreeing rows").isZero();
		assertThat(workload.lostWrites()).as("lost writes").isZero();
		BackfillProgress progress = this.service.progress(id);
		assertThat(progress.rowsDone()).isGreaterThanOrEqualTo(ROWS - workload.deletes.get());
		assertThat(progress.verification().succeeded()).isTrue();
		assertThat(progress.verification().rowsChecked()).isGreaterThan(ROWS / 2);
		// the copy's checkpoint holds its last key in text form, every column of it
		String lastKey = this.jdbc.queryForObject("SELECT last_key FROM zdm_backfill WHERE migration_id = ?",
				String.class, id);
		if (tenants) {
			assertThat(KeyText.split(lastKey)).hasSize(2);
		}
		else {
			assertThat(lastKey).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
		}
	}

	// an empty table has no largest key: the bound's query finds no row at all
	@Test
	void emptyTablesKeyedBySeveralColumnsOrByAUuidAreVerified() {
		LiveWorkload.createWithTenants(postgres, "no_tenants", false, 0);
		LiveWorkload.createWithUuidKeys(postgres, "no_uids", true, 0);
		MigrationDefinition tenants = MigrationDefinition.builder("no-tenants")
			.requestedPhase(Phase.BACKFILL)
			.table("no_tenants")
			.up("street_new", "street")
			.build();
		MigrationDefinition uids = MigrationDefinition.builder("no-uids")
			.requestedPhase(Phase.BACKFILL)
			.table("no_uids")
			.targetTable("no_uids_addresses")
			.targetKey("order_uid")
			.up("order_id", "id")
			.build();
		PhaseController tenantsController = start("no-tenants-a", tenants);
		PhaseController uidsController = start("no-uids-a", uids);
		for (String id : List.of("no-tenants", "no-uids")) {
			await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
				BackfillProgress progress = this.service.progress(id);
				assertThat(progress.verification()).as(id).isNotNull();
				assertThat(progress.verification().succeeded()).isTrue();
				assertThat(progress.verification().rowsChecked()).isZero();
				assertThat(progress.errors()).isZero();
			});
		}
		// and the final check before the contract finds them agreeing
		FinalContractCheck check = TestEngine.finalContractCheck(postgres.dataSource(), "no-keys-a");
		// (the migrations as the instances run them: their keys read from the catalog)
		assertThat(check.holdBack(tenantsController.status("no-tenants").migration())).isNull();
		assertThat(check.holdBack(uidsController.status("no-uids").migration())).isNull();
	}

	@Test
	void finalCheckNamesDisagreeingKeysByEveryColumnAndAppliesTheOldSideToThem() {
		this.jdbc.execute("CREATE TABLE members (tenant text NOT NULL, id bigint NOT NULL, email text, "
				+ "email_address text, PRIMARY KEY (tenant, id))");
		new ZdmSchema(postgres.dataSource()).migrate();
		this.jdbc.execute("INSERT INTO zdm_migration (migration_id) VALUES ('members-email')");
		this.jdbc.update("INSERT INTO members VALUES ('acme, inc.', 1, 'A@x', 'a@x'), ('acme, inc.', 2, 'B@x', 'x'), "
				+ "('q\"uote', 1, 'C@x', 'c@x'), ('{braces}', 1, 'D@x', NULL), ('plain', 1, 'E@x', 'e@x')");
		MigrationDefinition migration = MigrationDefinition.builder("members-email")
			.table("members")
			.key("tenant", "id")
			.up("email_address", "lower(email)")
			.build();
		FinalContractCheck check = TestEngine.finalContractCheck(postgres.dataSource(), "members-a");
		assertThat(check.holdBack(migration)).contains("2 of 5 keys disagreeing");
		assertThat(check.repository().find("members-email").rows())
			.containsExactlyInAnyOrder("key {\"acme, inc.\",2}: different", "key {\"{braces}\",1}: different");
		long changed = check.applyOld(migration,
				new OperatorAction("contract.apply-old", "anonymous", "members-a", "test", Instant.now()));
		assertThat(changed).isEqualTo(2);
		assertThat(this.jdbc.queryForList("SELECT email_address FROM members ORDER BY email", String.class))
			.containsExactly("a@x", "b@x", "c@x", "d@x", "e@x");
		assertThat(check.holdBack(migration)).isNull();
	}

	/**
	 * Every range between two keys of a three-column key, in each form its bounds give
	 * (sharing no, one or two columns), finds the keys a plain row comparison finds.
	 */
	@Test
	void everyRangeFormFindsTheKeysOfARowComparison() {
		this.jdbc.execute("CREATE TABLE cube (a text NOT NULL, b int NOT NULL, c bigint NOT NULL, v text, w text, "
				+ "PRIMARY KEY (a, b, c))");
		this.jdbc.update("INSERT INTO cube (a, b, c, v) SELECT x, y, z, x || y || z FROM unnest(ARRAY['a', 'b, c', "
				+ "'d\"e']) AS x, generate_series(1, 3) AS y, generate_series(1, 3) AS z");
		BackfillStatements statements = BackfillStatements
			.of(MigrationDefinition.builder("cube-w").table("cube").key("a", "b", "c").up("w", "v").build());
		NamedParameterJdbcTemplate named = new NamedParameterJdbcTemplate(this.jdbc);
		List<String> keys = this.jdbc.queryForList("SELECT ARRAY[a, b::text, c::text]::text FROM cube ORDER BY a, b, c",
				String.class);
		int[] seen = new int[4];
		for (int lo = -1; lo < keys.size(); lo++) {
			for (int hi = Math.max(lo, 0); hi < keys.size(); hi++) {
				String low = (lo < 0) ? null : keys.get(lo);
				BackfillStatements.KeyBounds range = statements.range(low, keys.get(hi), 1000);
				seen[range.form()]++;
				Map<String, Object> found = named.queryForMap(statements.copyRange(range), range.parameters());
				assertThat(((Number) found.get("count")).intValue()).as("keys in (%s, %s]", low, keys.get(hi))
					.isEqualTo(hi - lo);
				if (hi > lo) {
					assertThat(found.values()).as("largest key in (%s, %s]", low, keys.get(hi)).contains(keys.get(hi));
				}
			}
		}
		assertThat(seen).as("ranges in each form").doesNotContain(0);
		// the copy walks the ranges with the same forms
		assertThat(named.update(statements.copy(statements.range(keys.get(3), keys.get(20), 1000)),
				statements.range(keys.get(3), keys.get(20), 1000).parameters()))
			.isEqualTo(17);
	}

	@Test
	void keyTextOfSeveralColumnsIsReadBackAsPostgreSqlWroteIt() {
		String literal = this.jdbc.queryForObject(
				"SELECT ARRAY['acme, inc.', 'q\"uote', '{braces}', 'sp ace', 'back\\slash', 'NULL', '', 'plain']::text",
				String.class);
		assertThat(KeyText.split(literal)).containsExactly("acme, inc.", "q\"uote", "{braces}", "sp ace", "back\\slash",
				"NULL", "", "plain");
		assertThatIllegalArgumentException().isThrownBy(() -> KeyText.split("{1,NULL}")).withMessageContaining("null");
		assertThatIllegalArgumentException().isThrownBy(() -> KeyText.split("42"))
			.withMessageContaining("Not a key of several columns");
	}

	private PhaseController start(String instance, MigrationDefinition migration) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = TestEngine.phaseController(dataSource, List.of(migration),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS,
				List.of(TestEngine.backfillParticipant(dataSource, TestFleet.TIMEOUT, List.of())));
		controller.start();
		this.controllers.add(controller);
		return controller;
	}

}
