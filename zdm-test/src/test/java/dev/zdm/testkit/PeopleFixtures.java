package dev.zdm.testkit;

import java.util.Map;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.testkit.people.PeopleApplication;
import dev.zdm.testkit.people.PersonRepository;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The people application walked by the kit's own tests: its table with existing rows, the
 * walk of its {@code people-email} migration, and a scenario step that creates, reads,
 * updates and deletes people.
 */
final class PeopleFixtures {

	private static final int EXISTING_PEOPLE = 300;

	private PeopleFixtures() {
	}

	/**
	 * Return the walk of the people application.
	 * @param walk the walk
	 * @return the walk, of {@link PeopleApplication} with its configuration
	 */
	static PhaseWalk people(PhaseWalk walk) {
		return walk.application(PeopleApplication.class).property("spring.config.name", "people");
	}

	/**
	 * Return the walk of the people application with a {@code down} that drops the domain
	 * of the address {@code up} gives: a wrong {@code down}, which the walk must find.
	 * @param walk the walk
	 * @return the walk
	 */
	static PhaseWalk peopleWithADownThatDropsTheDomain(PhaseWalk walk) {
		return people(walk).property("zdm.migrations.people-email.down.email", "split_part(email_address, '@', 1)");
	}

	/**
	 * Create the people table with existing rows.
	 * @param jdbc the walk's database
	 */
	static void createPeople(JdbcTemplate jdbc) {
		jdbc.execute("CREATE TABLE people (id bigserial PRIMARY KEY, name text NOT NULL, email text NOT NULL)");
		jdbc.update("INSERT INTO people (name, email) SELECT 'Person ' || i, 'Person.' || i || '@Example.com' "
				+ "FROM generate_series(1, ?) AS i", EXISTING_PEOPLE);
	}

	/**
	 * Creates a person, reads it back, changes the e-mail address of one created earlier
	 * and deletes another.
	 */
	static void crud(PhaseStep step, Map<Long, String> emails) {
		PersonRepository people = step.getBean(PersonRepository.class);
		String suffix = step.phase().value() + ((step.instance().contains("old")) ? "-old" : "");
		String email = "Person." + suffix + "@Example.com";
		long id = people.create("Person " + suffix, email);
		emails.put(id, email);
		assertThat(people.findEmail(id)).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
			.isEqualToIgnoringCase(email);
		long changed = (id % EXISTING_PEOPLE) + 1;
		String changedEmail = "Changed." + suffix + "@Example.com";
		if (people.updateEmail(changed, changedEmail)) {
			emails.put(changed, changedEmail);
			assertThat(people.findEmail(changed)).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
				.isEqualToIgnoringCase(changedEmail);
		}
		long deleted = EXISTING_PEOPLE - step.phase().ordinal() * 2 - ((step.instance().contains("old")) ? 1 : 0);
		people.delete(deleted);
		emails.remove(deleted);
		assertThat(people.findEmail(deleted)).isEmpty();
	}

}
