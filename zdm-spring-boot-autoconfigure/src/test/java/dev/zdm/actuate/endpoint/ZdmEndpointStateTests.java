package dev.zdm.actuate.endpoint;

import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.fleet.FleetSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the {@link ZdmEndpoint} shows a migration's state as the database holds it
 * when it is asked, against a real PostgreSQL, not as the instance's last heartbeat read
 * it.
 */
class ZdmEndpointStateTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private PhaseController controller;

	@AfterEach
	void stop() {
		if (this.controller != null) {
			this.controller.stop();
		}
	}

	// an outside run read contracted: false beside a contract the DDL history showed
	// done: another instance had claimed and run it since this one's last heartbeat
	@Test
	void aContractClaimedSinceTheLastHeartbeatIsShownAtOnce() {
		postgres.jdbc().execute("CREATE TABLE shown (id bigint PRIMARY KEY, email text, email_address text)");
		DataSource dataSource = postgres.newDataSource("shown-a", 4);
		// no heartbeat after the first one within the test
		FleetSettings settings = new FleetSettings(Duration.ofMinutes(10), Duration.ofMinutes(30),
				Duration.ofSeconds(3), Duration.ofHours(1));
		this.controller = TestEngine.phaseController(dataSource,
				List.of(BackfillFixtures.migration("shown", "shown", Phase.READ_NEW,
						BackfillFixtures.settings(100, 100, 100, Duration.ZERO))),
				InstanceInfo.ofThisProcess("shown-a", "test", "1"), settings, List.of());
		this.controller.start();
		ZdmEndpoint endpoint = new ZdmEndpoint(this.controller, new LockFiguresSampler(new LockInspector(dataSource)),
				new JdbcBackfillService(dataSource), new DdlHistoryRepository(dataSource), null, null, null, null, null,
				null, null, null);
		assertThat(endpoint.migration("shown").state().contracted()).isFalse();
		// another instance claims the contract between two heartbeats of this one
		assertThat(new MigrationStateRepository(postgres.dataSource()).markContracted("shown", "shown-b")).isTrue();
		assertThat(this.controller.status("shown").state().isContracted()).as("the last heartbeat's view").isFalse();
		MigrationDescriptor.StateDescriptor shown = endpoint.migration("shown").state();
		assertThat(shown.contracted()).isTrue();
		assertThat(shown.contractedBy()).isEqualTo("shown-b");
		assertThat(endpoint.migrations().migrations().get("shown").state().contracted()).isTrue();
	}

}
