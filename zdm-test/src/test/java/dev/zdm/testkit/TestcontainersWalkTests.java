package dev.zdm.testkit;

import org.junit.jupiter.api.Test;

import dev.zdm.migration.Phase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Testcontainers path: a walk on a PostgreSQL container. Skipped, with the reason,
 * where Docker is not available.
 */
@ZdmTest(postgres = PostgresSource.TESTCONTAINERS, image = "postgres:17-alpine")
class TestcontainersWalkTests {

	@Test
	void walksEveryPhaseOnAContainer(PhaseWalk walk) {
		assertThat(walk.database().description()).isEqualTo("Testcontainers postgres:17-alpine");
		PeopleFixtures.createPeople(walk.database().jdbc());
		java.util.List<Phase> phases = new java.util.concurrent.CopyOnWriteArrayList<>();
		PeopleFixtures.people(walk).scenario((step) -> phases.add(step.phase())).run();
		assertThat(phases).containsExactlyElementsOf(Phase.steps());
	}

}
