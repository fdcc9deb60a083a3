package dev.zdm.internal.fleet;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Tests for {@link FleetRegistry}: an instance that leaves the fleet gracefully is no
 * member at once, but the steps that cannot be undone still see it for the fleet timeout,
 * unless it comes back under its id.
 */
class FleetRegistryTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final Duration TIMEOUT = Duration.ofSeconds(30);

	private static FleetRegistry registry;

	private static TransactionTemplate transactions;

	@BeforeAll
	static void createSchema() {
		new ZdmSchema(postgres.dataSource()).migrate();
		registry = new FleetRegistry(postgres.dataSource());
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		List.of("leaving-m", "back-m", "refused-m", "pod-m").forEach(states::register);
		transactions = new TransactionTemplate(new DataSourceTransactionManager(postgres.dataSource()));
	}

	@Test
	void instanceThatLeftIsNoMemberButHoldsTheStepsThatCannotBeUndoneUntilItHasBeenGoneTheTimeout() {
		registry.heartbeat(instance("staying"), "leaving-m", Phase.CONTRACT, Phase.CONTRACT, null);
		registry.heartbeat(instance("leaving"), "leaving-m", Phase.READ_NEW, Phase.READ_NEW, null);
		registry.leave("leaving");
		assertThat(registry.members("leaving-m", TIMEOUT)).extracting(FleetMember::instanceId)
			.containsExactly("staying");
		assertThat(claimMembers("leaving-m")).extracting(FleetMember::instanceId, FleetMember::live)
			.containsExactly(tuple("staying", true), tuple("leaving", false));
		assertThat(claimMembers("leaving-m").get(1).waitedFor())
			.isEqualTo("instance leaving (left the fleet at read-new less than zdm.fleet.timeout ago: it may be "
					+ "restarting at that phase)");
		TestFleet.age(postgres.dataSource(), "leaving", TIMEOUT.plusSeconds(1));
		assertThat(claimMembers("leaving-m")).extracting(FleetMember::instanceId).containsExactly("staying");
	}

	@Test
	void instanceThatComesBackUnderItsIdIsALiveMemberAgain() {
		registry.heartbeat(instance("restarting"), "back-m", Phase.READ_NEW, Phase.READ_NEW, null);
		registry.leave("restarting");
		registry.heartbeat(instance("restarting"), "back-m", Phase.READ_NEW, Phase.READ_NEW, null);
		assertThat(registry.members("back-m", TIMEOUT)).extracting(FleetMember::instanceId, FleetMember::live)
			.containsExactly(tuple("restarting", true));
		// aged as if it had left long ago: back, it is live whatever its leaving said
		TestFleet.age(postgres.dataSource(), "restarting", Duration.ofSeconds(1));
		assertThat(claimMembers("back-m")).extracting(FleetMember::instanceId, FleetMember::live)
			.containsExactly(tuple("restarting", true));
	}

	@Test
	void processThatTakesBackTheRowOfItsIdIsShownAsItself() throws Exception {
		registry.heartbeat(new InstanceInfo("pod-a", "1.0", "host-1", 100), "pod-m", Phase.BACKFILL, Phase.BACKFILL,
				null);
		FleetMember first = registry.members("pod-m", TIMEOUT).get(0);
		registry.leave("pod-a");
		Thread.sleep(10);
		registry.heartbeat(new InstanceInfo("pod-a", "1.1", "host-2", 200), "pod-m", Phase.BACKFILL, Phase.BACKFILL,
				null);
		FleetMember restarted = registry.members("pod-m", TIMEOUT).get(0);
		assertThat(restarted.pid()).isEqualTo(200);
		assertThat(restarted.host()).isEqualTo("host-2");
		assertThat(restarted.applicationVersion()).isEqualTo("1.1");
		assertThat(restarted.startedAt()).isAfter(first.startedAt());
		// its own next heartbeat keeps its start
		registry.heartbeat(new InstanceInfo("pod-a", "1.1", "host-2", 200), "pod-m", Phase.BACKFILL, Phase.BACKFILL,
				null);
		assertThat(registry.members("pod-m", TIMEOUT).get(0).startedAt()).isEqualTo(restarted.startedAt());
	}

	@Test
	void instanceRemovedLeavesNothingBehind() {
		registry.heartbeat(instance("refused"), "refused-m", Phase.READ_NEW, Phase.READ_NEW, null);
		registry.remove("refused");
		assertThat(registry.members("refused-m", TIMEOUT)).isEmpty();
		assertThat(claimMembers("refused-m")).isEmpty();
	}

	private static List<FleetMember> claimMembers(String migrationId) {
		return transactions.execute((status) -> registry.lockLiveAndRecentlyLeftMembers(migrationId, TIMEOUT));
	}

	private static InstanceInfo instance(String id) {
		return new InstanceInfo(id, null, "localhost", 1);
	}

}
