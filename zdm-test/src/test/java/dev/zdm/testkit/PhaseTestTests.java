package dev.zdm.testkit;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.assertj.core.api.Condition;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

import org.springframework.context.ApplicationContext;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.people.PeopleApplication;
import dev.zdm.testkit.people.PersonRepository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.abortedWithReason;
import static org.junit.platform.testkit.engine.EventConditions.displayName;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

/**
 * Tests for {@link PhaseTest}: the user's own test method runs at every phase with the
 * application's beans, then zdm's checks.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class PhaseTestTests {

	private static final List<Phase> phases = new CopyOnWriteArrayList<>();

	private static final Map<Long, String> emails = new ConcurrentHashMap<>();

	private static final Map<Phase, ApplicationContext> contexts = new ConcurrentHashMap<>();

	@PhaseTest(application = PeopleApplication.class, properties = "spring.config.name=people",
			beforeExpand = "classpath:seed/people.sql")
	void runsAtEveryPhaseWithTheApplicationsBeans(PersonRepository people, PhaseStep step) {
		phases.add(step.phase());
		contexts.put(step.phase(), step.context());
		assertThat(people).isSameAs(step.getBean(PersonRepository.class));
		assertThat(step.getBean(PhaseController.class).status("people-email").effective()).isEqualTo(step.phase());
		PeopleFixtures.crud(step, emails);
		if (step.phase() == Phase.BACKFILL) {
			assertThat(step.context()).as("dual-write's instance, moved on").isSameAs(contexts.get(Phase.DUAL_WRITE));
			assertThat(step.instance()).isEqualTo("walk-walk-dual-write, moved to backfill");
		}
		if (step.phase() == Phase.CONTRACT) {
			assertThat(phases).as("phases run so far").containsExactlyElementsOf(Phase.steps());
			assertThat(Set.copyOf(contexts.values())).as("distinct contexts").hasSize(Phase.steps().size() - 1);
		}
	}

	@Test
	void wrongColumnFailsTheReadNewInvocationNamingTheRowsAndSkipsContract() {
		Events events = EngineTestKit.engine("junit-jupiter")
			.selectors(selectClass(BrokenNewRepository.class))
			.execute()
			.testEvents();
		events.assertThatEvents()
			.haveExactly(1, event(displayName("[expand]"), finishedSuccessfully()))
			.haveExactly(1, event(displayName("[dual-write]"), finishedSuccessfully()))
			.haveExactly(1, event(displayName("[backfill]"), finishedSuccessfully()))
			.haveExactly(1,
					event(displayName("[read-new]"),
							finishedWithFailure(instanceOf(PhaseWalkFailure.class),
									message((text) -> text.startsWith("zdm walk failed at phase read-new")
											&& text.contains("but up lower(email) gives 'person read-new'")))))
			.haveExactly(1, event(displayName("[contract]"), abortedWithReason(
					message((text) -> text.endsWith("the walk failed at phase read-new; contract is skipped")))));
	}

	@Test
	void aFailingTestMethodKeepsItsOwnFailureWithItsPhaseNamed() {
		Events events = EngineTestKit.engine("junit-jupiter")
			.selectors(selectClass(FailsAtDualWrite.class))
			.execute()
			.testEvents();
		events.assertThatEvents()
			.haveExactly(1, event(displayName("[expand]"), finishedSuccessfully()))
			.haveExactly(1,
					event(displayName("[dual-write]"),
							finishedWithFailure(instanceOf(AssertionError.class),
									message((text) -> text.contains("count at dual-write")),
									new Condition<>(
											(failure) -> Arrays.stream(failure.getSuppressed())
												.anyMatch((named) -> "the @PhaseTest method failed at phase dual-write"
													.equals(named.getMessage())),
											"the phase named in a suppressed exception"))))
			.haveExactly(1, event(displayName("[backfill]"), abortedWithReason(
					message((text) -> text.endsWith("the walk failed at phase dual-write; backfill is skipped")))));
	}

	/**
	 * Run by {@link #aFailingTestMethodKeepsItsOwnFailureWithItsPhaseNamed()} only.
	 */
	@ZdmTest(postgres = PostgresSource.EMBEDDED)
	static class FailsAtDualWrite {

		@PhaseTest(application = PeopleApplication.class, properties = "spring.config.name=people",
				beforeExpand = "classpath:seed/people.sql")
		void failsAtDualWrite(PhaseStep step) {
			assertThat(step.phase()).as("count at " + step.phase()).isNotEqualTo(Phase.DUAL_WRITE);
		}

	}

	/**
	 * Run by {@link #wrongColumnFailsTheReadNewInvocationNamingTheRowsAndSkipsContract()}
	 * only.
	 */
	@ZdmTest(postgres = PostgresSource.EMBEDDED)
	static class BrokenNewRepository {

		private final Map<Long, String> created = new ConcurrentHashMap<>();

		@PhaseTest(application = PeopleApplication.class,
				properties = { "spring.config.name=people", "people.new-repository=wrong-column" },
				beforeExpand = "classpath:seed/people.sql")
		void createsReadsChangesAndDeletes(PhaseStep step) {
			PeopleFixtures.crud(step, this.created);
		}

	}

}
