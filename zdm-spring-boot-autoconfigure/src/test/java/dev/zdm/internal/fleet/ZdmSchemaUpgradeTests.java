package dev.zdm.internal.fleet;

import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that an instance of this version starts on zdm's tables as an earlier version
 * left them: it reads a migration's state before it upgrades the tables (it validates its
 * declarations first, and another instance may be upgrading them meanwhile), so the state
 * must read on an older schema, and the start then upgrades it.
 */
class ZdmSchemaUpgradeTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void instanceStartsOnZdmTablesOfAnEarlierVersionAndUpgradesThem() {
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text, email_address text)");
		// zdm's tables as the last release left them (V10), with a verified
		// backfill recorded
		Flyway.configure(getClass().getClassLoader())
			.dataSource(postgres.dataSource())
			.table(ZdmSchema.HISTORY_TABLE)
			.locations(ZdmSchema.LOCATION)
			.baselineOnMigrate(true)
			.baselineVersion("0")
			.target("10")
			.load()
			.migrate();
		assertThat(columns()).doesNotContain("abandoned_at");
		postgres.jdbc()
			.update("INSERT INTO zdm_migration (migration_id, verified_at, verified_fleet) VALUES ('m', now(), 'a')");
		MigrationState before = new MigrationStateRepository(postgres.dataSource()).find("m");
		assertThat(before.isVerified()).isTrue();
		assertThat(before.isAbandoned()).isFalse();
		DataSource dataSource = postgres.newDataSource("upgrade", 4);
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(MigrationDefinition.builder("m")
					.table("users")
					.requestedPhase(Phase.DUAL_WRITE)
					.up("email_address", "lower(email)")
					.build()),
				InstanceInfo.ofThisProcess("upgrade", "test", "2"), TestFleet.SETTINGS, List.of());
		try {
			controller.start();
			assertThat(columns()).contains("abandoned_at", "abandoned_by", "abandon_reason");
			assertThat(controller.status("m").state().isVerified()).isTrue();
		}
		finally {
			controller.stop();
		}
	}

	private static List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'zdm_migration'",
					String.class);
	}

}
