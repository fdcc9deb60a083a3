package dev.zdm.testkit;

import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.people.PersonRepository;

import static dev.zdm.testkit.PeopleFixtures.createPeople;
import static dev.zdm.testkit.PeopleFixtures.crud;
import static dev.zdm.testkit.PeopleFixtures.people;
import static dev.zdm.testkit.PeopleFixtures.peopleWithADownThatDropsTheDomain;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link PhaseWalk#run()}: a correct application walks through every phase;
 * broken repositories, expressions, scenarios and scripts fail naming the phase and what
 * disagrees.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class PhaseWalkTests {

	@Test
	void aMigrationsPhaseIsRefusedAsAWalkPropertySinceTheWalkSetsIt(PhaseWalk walk) {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> people(walk).property("zdm.migrations.people-email.phase", "contract"))
			.withMessageStartingWith("The walk sets zdm.migrations.people-email.phase itself")
			.withMessageContaining("remove the property");
	}

	@Test
	void aRowTheVerificationRepairsFailsTheWalkAtBackfillThoughOldAndNewAgreeAfterwards(PhaseWalk walk) {
		JdbcTemplate jdbc = walk.database().jdbc();
		jdbc.execute("CREATE TABLE people (id bigserial PRIMARY KEY, name text NOT NULL, email text NOT NULL)");
		jdbc.update("INSERT INTO people (name, email) SELECT 'Person ' || i, 'Person.' || i || '@Example.com' "
				+ "FROM generate_series(1, 300) AS i");
		BackfillService backfills = TestKitSupport.backfillService(walk.database().dataSource());
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> people(walk).property("zdm.migrations.people-email.backfill.verification-batch-size", "1")
				.scenario((step) -> {
					if (step.phase() != Phase.BACKFILL) {
						return;
					}
					// the copy is done and the verification under way: pause it, write
					// the
					// row it checks last on its new side only, as a writer bypassing the
					// sync
					// trigger would, and let the verification go on
					awaitState(backfills, BackfillState.VERIFYING);
					backfills.pause("people-email");
					awaitState(backfills, BackfillState.PAUSED);
					jdbc.execute((ConnectionCallback<Void>) (connection) -> {
						try (Statement statement = connection.createStatement()) {
							statement.execute("SET session_replication_role = replica");
							statement.executeUpdate("UPDATE people SET email_address = 'one side only' "
									+ "WHERE id = (SELECT max(id) FROM people)");
							statement.execute("SET session_replication_role = DEFAULT");
						}
						return null;
					});
					assertThat(backfills.resume("people-email")).isTrue();
				})
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.BACKFILL))
			.withMessageContaining("the backfill's verification of migration 'people-email' found 1 rows whose new "
					+ "side disagreed with the old after the copy, and repaired them")
			.withMessageContaining("a write of the scenario outside the application (step.jdbc()) on the old or "
					+ "new columns alone");
		// repaired: old and new agree again, which is why the walk must say so itself
		assertThat(jdbc.queryForObject("SELECT count(*) FROM people WHERE email_address IS DISTINCT FROM lower(email)",
				Integer.class))
			.isZero();
	}

	private static void awaitState(BackfillService backfills, BackfillState state) throws InterruptedException {
		long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
		while (true) {
			BackfillProgress progress = backfills.progress("people-email");
			if (progress != null && progress.state() == state) {
				return;
			}
			assertThat(System.nanoTime()).as("the backfill reaching " + state + ", now " + progress)
				.isLessThan(deadline);
			Thread.sleep(5);
		}
	}

	@Test
	void anExistingRowWhoseOtherColumnsAreUpdatedWaitsForTheBackfillAsEveryExistingRowDoes(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		Map<Long, String> emails = new ConcurrentHashMap<>();
		people(walk).scenario((step) -> {
			if (step.phase() == Phase.DUAL_WRITE) {
				// the sync trigger fires on the old columns only: the row's new column
				// stays null until the backfill reaches it
				assertThat(step.jdbc().update("UPDATE people SET name = 'Renamed' WHERE id = 150")).isOne();
				assertThat(step.jdbc()
					.queryForObject("SELECT email_address IS NULL FROM people WHERE id = 150", Boolean.class)).isTrue();
			}
			crud(step, emails);
		}).run();
		assertThat(walk.database().jdbc().queryForMap("SELECT name, email_address FROM people WHERE id = 150"))
			.containsEntry("name", "Renamed")
			.hasEntrySatisfying("email_address", (email) -> assertThat(email).isNotNull());
	}

	@Test
	void walksEveryPhaseWithInsertsUpdatesAndDeletesAtEachOne(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		List<Phase> phases = new ArrayList<>();
		Map<Long, String> emails = new ConcurrentHashMap<>();
		long started = System.nanoTime();
		WalkReport report = people(walk).scenario((step) -> {
			phases.add(step.phase());
			crud(step, emails);
		}).run();
		long seconds = (System.nanoTime() - started) / 1_000_000_000;
		// dual-write's instance moves on to backfill
		assertThat(report.applicationStartCount()).isEqualTo(Phase.steps().size() - 1);
		assertThat(report.total()).isPositive().isLessThanOrEqualTo(Duration.ofNanos(System.nanoTime() - started));
		assertThat(report.applicationStarts()).isPositive();
		assertThat(report.applicationStartsWaitedFor()).isPositive().isLessThanOrEqualTo(report.applicationStarts());
		assertThat(report.ddl()).as("expand and contract DDL").isPositive();
		assertThat(report.kitOverhead()).isLessThan(report.total());
		assertThat(report.total()).isGreaterThanOrEqualTo(report.applicationStartsWaitedFor()
			.plus(report.scenarios())
			.plus(report.agreementChecks())
			.plus(report.applicationStops())
			.plus(report.kitOverhead()));
		assertThat(report.scenarios()).isPositive();
		assertThat(report.agreementChecks()).isPositive();
		assertThat(phases).containsExactlyElementsOf(Phase.steps());
		assertContractedWithEveryEmailAsWritten(walk.database().jdbc(), emails);
		System.out.println("PhaseWalkTests: full walk through every phase took " + seconds + " s; " + report);
	}

	@Test
	void walksEveryPhaseWithTheApplicationWritingBothSidesAndNoTrigger(PhaseWalk walk) {
		JdbcTemplate jdbc = walk.database().jdbc();
		createPeople(jdbc);
		Map<Long, String> emails = new ConcurrentHashMap<>();
		List<Integer> triggers = new CopyOnWriteArrayList<>();
		people(walk).property("zdm.migrations.people-email.sync", "application").scenario((step) -> {
			triggers.add(jdbc.queryForObject(
					"SELECT count(*) FROM pg_trigger WHERE tgrelid = 'people'::regclass AND NOT tgisinternal",
					Integer.class));
			crud(step, emails);
		}).run();
		assertThat(triggers).as("triggers on people at each step").hasSize(Phase.steps().size()).containsOnly(0);
		assertContractedWithEveryEmailAsWritten(jdbc, emails);
	}

	@Test
	void applicationSyncWhoseBothSidesRepositoryDerivesOtherwiseThanUpFailsNamingThePhaseAndTheRows(PhaseWalk walk) {
		assertApplicationSyncWalkFailsAtDualWrite(walk, "not-lowered", "migration 'people-email': ");
	}

	@Test
	void applicationSyncWhoseBothSidesInsertLeavesTheNewColumnOutFailsAtDualWrite(PhaseWalk walk) {
		// the rows it inserts have email_address null, as the existing rows do until the
		// backfill: the rows written at the step are checked however they look
		assertApplicationSyncWalkFailsAtDualWrite(walk, "insert-old-only",
				"email_address=null but up lower(email) gives 'person.dual-write");
	}

	@Test
	void applicationSyncWhoseBothSidesUpdateLeavesTheNewColumnOutFailsAtDualWrite(PhaseWalk walk) {
		// the existing row it updates keeps email_address null, as the rows the backfill
		// has not reached do: its old column changed since the step began
		assertApplicationSyncWalkFailsAtDualWrite(walk, "update-old-only",
				"email_address=null but up lower(email) gives 'changed.dual-write");
	}

	@Test
	void applicationSyncLetsAnExistingRowWhoseOtherColumnsAreUpdatedWaitForTheBackfill(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		Map<Long, String> emails = new ConcurrentHashMap<>();
		people(walk).property("zdm.migrations.people-email.sync", "application").scenario((step) -> {
			if (step.phase() == Phase.DUAL_WRITE) {
				// no trigger and no repository writes the new column here: it stays
				// null until the backfill reaches the row, as every existing row's does
				assertThat(step.jdbc().update("UPDATE people SET name = 'Renamed' WHERE id = 150")).isOne();
			}
			crud(step, emails);
		}).run();
		assertThat(walk.database().jdbc().queryForMap("SELECT name, email_address FROM people WHERE id = 150"))
			.containsEntry("name", "Renamed")
			.containsEntry("email_address", "person.150@example.com");
	}

	private static void assertApplicationSyncWalkFailsAtDualWrite(PhaseWalk walk, String bothRepository,
			String message) {
		createPeople(walk.database().jdbc());
		Map<Long, String> emails = new ConcurrentHashMap<>();
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> people(walk).property("zdm.migrations.people-email.sync", "application")
				.property("people.both-repository", bothRepository)
				.scenario((step) -> crud(step, emails))
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.DUAL_WRITE))
			.withMessageContaining("zdm walk failed at phase dual-write")
			.withMessageContaining(message);
	}

	private static void assertContractedWithEveryEmailAsWritten(JdbcTemplate jdbc, Map<Long, String> emails) {
		assertThat(jdbc.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'people'",
				String.class))
			.containsExactlyInAnyOrder("id", "name", "email_address");
		emails.forEach((id,
				email) -> assertThat(
						jdbc.queryForList("SELECT email_address FROM people WHERE id = ?", String.class, id))
					.as("person %d", id)
					.containsExactly(email.toLowerCase()));
		assertThat(jdbc.queryForObject("SELECT count(*) FROM people WHERE email_address IS NULL", Integer.class))
			.isZero();
	}

	@Test
	void newRepositoryThatWritesTheWrongColumnFailsNamingThePhaseAndTheRows(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		Map<Long, String> emails = new ConcurrentHashMap<>();
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> people(walk).property("people.new-repository", "wrong-column")
				.scenario((step) -> crud(step, emails))
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.READ_NEW))
			.withMessageContaining("zdm walk failed at phase read-new (instance walk-walk-read-new)")
			.withMessageContaining("migration 'people-email': 1 of ")
			.withMessageMatching("(?s).*- id=\\d+: email_address='person\\.read-new@example\\.com' "
					+ "but up lower\\(email\\) " + "gives 'person read-new'; \\(email='Person read-new'\\).*");
	}

	@Test
	void downThatDoesNotGiveBackWhatUpNeedsFailsAtExpandNamingTheExistingRows(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		Map<Long, String> emails = new ConcurrentHashMap<>();
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> peopleWithADownThatDropsTheDomain(walk).scenario((step) -> crud(step, emails)).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.EXPAND))
			.withMessageContaining("migration 'people-email': the round trip over the table's rows failed before "
					+ "any scenario ran:\nthe round trip up(down(up(x))) = up(x) fails for 300 of 300 rows of "
					+ "public.people:\n  - id=1: ")
			.withMessageContaining("A row the application writes through the new columns from read-new on");
		assertThat(emails).as("no scenario ran").isEmpty();
	}

	@Test
	void upThatDisagreesWithDownFailsNamingThePhaseAndTheRows(PhaseWalk walk) {
		// existing rows whose addresses have no domain, over which the round trip at
		// expand holds: the rows the scenario writes at read-new show it
		createPeople(walk.database().jdbc());
		walk.database().jdbc().update("UPDATE people SET email = lower(split_part(email, '@', 1))");
		Map<Long, String> emails = new ConcurrentHashMap<>();
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> peopleWithADownThatDropsTheDomain(walk).scenario((step) -> crud(step, emails)).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.READ_NEW))
			.withMessageContaining("zdm walk failed at phase read-new")
			.withMessageMatching("(?s).*- id=\\d+: email_address='person\\.read-new@example\\.com' "
					+ "but up lower\\(email\\) " + "gives 'person\\.read-new'; \\(email='person\\.read-new'\\).*");
	}

	@Test
	void failingScenarioFailsNamingThePhaseAndTheInstance(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class).isThrownBy(() -> people(walk).scenario((step) -> {
			if (step.phase() == Phase.BACKFILL) {
				assertThat(step.getBean(PersonRepository.class).findEmail(-1)).as("a person who does not exist")
					.isPresent();
			}
		}).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.BACKFILL))
			.withMessageContaining(
					"zdm walk failed at phase backfill (instance walk-walk-dual-write, moved to backfill): the scenario failed")
			.withMessageContaining("a person who does not exist");
	}

	// a repository's exception names PostgreSQL's cause only deep in its chain: the
	// failure says it, and at contract what a missing column means
	@Test
	void scenarioThatReadsADroppedColumnAtContractFailsNamingTheCauseAndWhy(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		assertThatExceptionOfType(PhaseWalkFailure.class).isThrownBy(() -> people(walk).scenario((step) -> {
			if (step.phase() == Phase.CONTRACT) {
				step.getBean(JdbcTemplate.class).queryForList("SELECT email FROM people");
			}
		}).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.CONTRACT))
			.withMessageContaining("the scenario failed: org.springframework.jdbc.BadSqlGrammarException")
			.withMessageContaining("; caused by: ERROR: column \"email\" does not exist")
			.withMessageContaining("the contract DDL ran before this step: a column the application uses is gone");
	}

	@Test
	void unsafeExpandScriptFailsAtExpandWithItsSafeRecipeAndChangesNothing(PhaseWalk walk) {
		createPeople(walk.database().jdbc());
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> people(walk)
				.property("zdm.migrations.people-email.expand", "classpath:db/zdm/people-email-unsafe/expand")
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.EXPAND))
			.withMessageContaining(
					"zdm walk failed at phase expand (instance walk-walk-expand): the application did " + "not start")
			.withMessageContaining(
					"CREATE INDEX people_email_address ON people (email_address)\" is unsafe (create-index)")
			.withMessageContaining("Use CREATE INDEX CONCURRENTLY");
		assertThat(walk.database()
			.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'people'",
					String.class))
			.containsExactlyInAnyOrder("id", "name", "email");
	}

	@Test
	void undeclaredMigrationFailsWithTheDeclaredOnes(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> people(walk).migrations("people-phone").run())
			.withMessageContaining("migration 'people-phone' is not declared; the application declares [people-email]");
	}

}
