package dev.zdm.testkit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.people.PersonRepository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for
 * {@link PhaseWalk#beforeExpand(org.springframework.util.function.ThrowingConsumer)}:
 * rows inserted between the application's own schema initialization and zdm's expand are
 * copied and verified by the backfill; rows inserted at {@code expand}, after the sync
 * trigger, leave the backfill nothing to copy, and the walk says so.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class BeforeExpandWalkTests {

	private static final int EXISTING_PEOPLE = 52;

	@Test
	void rowsInsertedBeforeExpandAreCopiedAndVerifiedByTheBackfill(PhaseWalk walk) {
		List<String> columnsSeenBeforeExpand = new CopyOnWriteArrayList<>();
		List<Phase> phases = new CopyOnWriteArrayList<>();
		WalkReport report = PeopleFixtures.people(walk).beforeExpand((jdbc) -> {
			// the application's spring.sql.init created the table; zdm's expand has not
			// run
			columnsSeenBeforeExpand.addAll(jdbc.queryForList(
					"SELECT column_name FROM information_schema.columns WHERE table_name = 'people'", String.class));
			jdbc.update("INSERT INTO people (name, email) SELECT 'Person ' || i, 'Person.' || i || '@Example.com' "
					+ "FROM generate_series(1, ?) AS i", EXISTING_PEOPLE);
		}).scenario((step) -> {
			phases.add(step.phase());
			PersonRepository people = step.getBean(PersonRepository.class);
			long id = people.create("Ada " + step.phase(), "Ada." + step.phase().value() + "@Example.com");
			assertThat(people.findEmail(id)).isPresent();
			assertThat(people.findEmail(1)).get().asString().isEqualToIgnoringCase("person.1@example.com");
		}).run();
		assertThat(columnsSeenBeforeExpand).containsExactlyInAnyOrder("id", "name", "email");
		assertThat(phases).containsExactlyElementsOf(Phase.steps());
		BackfillProgress backfill = report.backfillProgress("people-email");
		assertThat(backfill).isNotNull();
		assertThat(backfill.rowsUpdated()).as("rows the backfill copied").isEqualTo(EXISTING_PEOPLE);
		assertThat(backfill.verification()).isNotNull().satisfies((verification) -> {
			assertThat(verification.succeeded()).isTrue();
			assertThat(verification.rowsChecked()).isGreaterThanOrEqualTo(EXISTING_PEOPLE);
		});
		assertThat(report.beforeExpand()).isPositive();
		assertThat(report.applicationStartCount()).isEqualTo(Phase.steps().size() - 1);
		assertThat(report.toString()).contains("application starts", "backfill of 'people-email' copied 52 of");
		assertThat(walk.database()
			.jdbc()
			.queryForObject(
					"SELECT count(*) FROM people WHERE email_address = lower('Person.' || id || '@Example.com')",
					Integer.class))
			.isEqualTo(EXISTING_PEOPLE);
	}

	@Test
	void aBeforeExpandStepOnATableTheSchemaDoesNotCreateSaysWhereTheTablesComeFrom(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> PeopleFixtures.people(walk)
				.beforeExpand((jdbc) -> jdbc.update("INSERT INTO persons (name) VALUES ('Ada')"))
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.EXPAND))
			.withMessageContaining("The walk's beforeExpand step failed")
			.withMessageContaining("relation \"persons\" does not exist")
			.withMessageContaining("if Flyway creates the table, add spring-boot-starter-flyway");
	}

	@Test
	void rowsInsertedAtExpandLeaveTheBackfillNothingToCopyAndTheWalkFailsAtBackfill(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> PeopleFixtures.people(walk).scenario((step) -> {
				if (step.phase() == Phase.EXPAND) {
					step.jdbc()
						.update("INSERT INTO people (name, email) SELECT 'Person ' || i, 'Person.' || i "
								+ "|| '@Example.com' FROM generate_series(1, ?) AS i", EXISTING_PEOPLE);
				}
			}).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.BACKFILL))
			.withMessageContaining("zdm walk failed at phase backfill (instance walk-walk-dual-write, moved to "
					+ "backfill): the backfill of migration 'people-email' walked 52 rows of ")
			.withMessageContaining("and copied none of them")
			.withMessageContaining("Rows written after expand get their new side from the sync trigger")
			.withMessageContaining("PhaseWalk.beforeExpand(jdbc -> ...)");
	}

}
