package dev.zdm.testkit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.testcontainers.postgresql.PostgreSQLContainer;

import org.springframework.boot.testcontainers.context.ImportTestcontainers;
import org.springframework.boot.testcontainers.service.connection.ServiceConnection;

import dev.zdm.migration.Phase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully;
import static org.junit.platform.testkit.engine.EventConditions.skippedWithReason;
import static org.junit.platform.testkit.engine.EventConditions.test;

/**
 * Tests for a test class's own PostgreSQL container definition: the kit walks on the
 * {@code @ServiceConnection} or {@code @ImportTestcontainers} container a team already
 * defines, and skips the walk, saying why, where Docker is not available.
 */
class UserContainerTests {

	@Test
	void serviceConnectionFieldOfTheTestClassIsItsDefinition() {
		assertThat(ZdmDatabases.containerDefinition(WithServiceConnection.class))
			.isEqualTo("the @ServiceConnection container UserContainerTests.WithServiceConnection.postgres "
					+ "(database shop, user shop_owner)");
	}

	@Test
	void containerOfAClassNamedByImportTestcontainersIsItsDefinition() {
		assertThat(ZdmDatabases.containerDefinition(WithImportedContainers.class))
			.isEqualTo("the @ImportTestcontainers container UserContainerTests.ShopContainers.postgres "
					+ "(database orders, user test)");
	}

	@Test
	void testClassWithoutAContainerHasNoDefinition() {
		assertThat(ZdmDatabases.containerDefinition(PhaseWalkTests.class)).isNull();
	}

	@Test
	void walkOnTheDefinedContainerRunsWithDockerAndIsSkippedWithoutIt() {
		Events events = EngineTestKit.engine("junit-jupiter")
			.selectors(selectClass(WithServiceConnection.class))
			.execute()
			.allEvents();
		if (ZdmDatabases.whyTestcontainersCannotRun() != null) {
			events.assertThatEvents()
				.haveExactly(1, event(skippedWithReason((reason) -> reason.startsWith(
						"The walk runs on the @ServiceConnection container UserContainerTests.WithServiceConnection"
								+ ".postgres (database shop, user shop_owner) of the test class, skipped: "))));
		}
		else {
			events.assertThatEvents().haveExactly(1, event(test(), finishedSuccessfully()));
		}
	}

	/**
	 * Run by {@link #walkOnTheDefinedContainerRunsWithDockerAndIsSkippedWithoutIt()}
	 * only.
	 */
	@ZdmTest
	static class WithServiceConnection {

		@ServiceConnection
		static PostgreSQLContainer postgres = new PostgreSQLContainer("postgres:17-alpine").withDatabaseName("shop")
			.withUsername("shop_owner");

		@Test
		void walksOnTheContainer(PhaseWalk walk) {
			assertThat(walk.database().description())
				.isEqualTo("the @ServiceConnection container UserContainerTests.WithServiceConnection.postgres");
			assertThat(walk.database().username()).isEqualTo("shop_owner");
			assertThat(walk.database().url()).startsWith(postgres.getJdbcUrl().replaceFirst("/shop.*", "/"));
			PeopleFixtures.createPeople(walk.database().jdbc());
			List<Phase> phases = new CopyOnWriteArrayList<>();
			PeopleFixtures.people(walk).scenario((step) -> phases.add(step.phase())).run();
			assertThat(phases).containsExactlyElementsOf(Phase.steps());
		}

	}

	/**
	 * A team's container definitions, imported by {@link WithImportedContainers}.
	 */
	static class ShopContainers {

		static PostgreSQLContainer postgres = new PostgreSQLContainer("postgres:17-alpine").withDatabaseName("orders");

	}

	@ZdmTest
	@ImportTestcontainers(ShopContainers.class)
	static class WithImportedContainers {

	}

}
