package dev.zdm.testkit;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.people.PeopleApplication;
import dev.zdm.testkit.people.PersonRepository;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ZdmTest} on a {@code @SpringBootTest} class whose configuration
 * requests a late phase: on its fresh database zdm's start-up takes the application there
 * one step at a time, and the tests get the context only once it runs at that phase, here
 * contracted, the old column dropped.
 */
@ZdmTest
@SpringBootTest(classes = PeopleApplication.class,
		properties = { "spring.config.name=people", "zdm.migrations.people-email.phase=contract" })
class SpringBootTestPhaseTests {

	@Autowired
	private JdbcTemplate jdbc;

	@Autowired
	private PersonRepository people;

	@Autowired
	private PhaseController controller;

	@Test
	void contextIsHandedToTheTestsOnlyOnceItRunsAtThePhaseItsConfigurationRequests() {
		MigrationStatus status = this.controller.status("people-email");
		assertThat(status.effective()).isEqualTo(Phase.CONTRACT);
		assertThat(status.state().isContracted()).isTrue();
		assertThat(this.jdbc.queryForObject(
				"SELECT count(*) FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'email'",
				Integer.class))
			.isZero();
		long ada = this.people.create("Ada", "ada@example.com");
		assertThat(this.people.findEmail(ada)).contains("ada@example.com");
	}

}
