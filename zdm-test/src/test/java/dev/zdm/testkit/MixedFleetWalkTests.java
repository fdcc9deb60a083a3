package dev.zdm.testkit;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link PhaseWalk#runMixedFleet()}: the old and the new version side by side
 * on one database, at adjacent phases.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class MixedFleetWalkTests {

	@Test
	void oldAndNewInstancesSideBySideRunTheScenarioAndAgreeAfterEveryStep(PhaseWalk walk) {
		PeopleFixtures.createPeople(walk.database().jdbc());
		List<String> steps = new CopyOnWriteArrayList<>();
		Map<Long, String> emails = new ConcurrentHashMap<>();
		PeopleFixtures.people(walk).scenario((step) -> {
			steps.add(step.instance());
			PeopleFixtures.crud(step, emails);
		}).runMixedFleet();
		assertThat(steps).containsExactly("walk-old-expand", "walk-new-expand", "walk-old-expand",
				"walk-new-dual-write", "walk-old-dual-write", "walk-new-dual-write", "walk-old-dual-write",
				"walk-new-backfill", "walk-old-backfill", "walk-new-backfill", "walk-old-backfill", "walk-new-read-new",
				"walk-old-read-new", "walk-new-read-new", "walk-old-read-new", "walk-new-contract", "walk-old-contract",
				"walk-new-contract");
		emails.forEach((id, email) -> assertThat(
				walk.database().jdbc().queryForList("SELECT email_address FROM people WHERE id = ?", String.class, id))
			.as("person %d", id)
			.containsExactly(email.toLowerCase()));
	}

	@Test
	void upThatDisagreesWithDownFailsWhenTheNewVersionReadsNew(PhaseWalk walk) {
		// existing rows whose addresses have no domain, over which the round trip at
		// expand holds
		PeopleFixtures.createPeople(walk.database().jdbc());
		walk.database().jdbc().update("UPDATE people SET email = lower(split_part(email, '@', 1))");
		Map<Long, String> emails = new ConcurrentHashMap<>();
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> PeopleFixtures.peopleWithADownThatDropsTheDomain(walk)
				.scenario((step) -> PeopleFixtures.crud(step, emails))
				.runMixedFleet())
			.withMessageContaining(
					"zdm walk failed at phase backfill (instances walk-old-backfill and walk-new-read-new)")
			.withMessageContaining("but up lower(email) gives 'person.read-new'");
	}

}
