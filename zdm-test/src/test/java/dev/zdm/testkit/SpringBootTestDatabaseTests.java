package dev.zdm.testkit;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.testkit.people.PeopleApplication;
import dev.zdm.testkit.people.PersonRepository;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ZdmTest} on a {@code @SpringBootTest} class: the application runs on a
 * database of the kit's own, even where its configuration names another one (here a
 * deployed database that the test must never reach).
 */
@ZdmTest
@SpringBootTest(classes = PeopleApplication.class,
		properties = { "spring.config.name=people",
				"spring.datasource.url=jdbc:postgresql://localhost:1/the_deployed_database",
				"spring.datasource.username=deployer", "zdm.migrations.people-email.phase=dual-write" })
class SpringBootTestDatabaseTests {

	@Autowired
	private JdbcTemplate jdbc;

	@Autowired
	private PersonRepository people;

	@Test
	void applicationRunsOnADatabaseOfTheKitsOwnWhateverItsConfigurationNames() {
		assertThat(this.jdbc.queryForObject("SELECT current_database()", String.class))
			.startsWith("zdm_springboottestdatabasetests");
		// zdm's engine joined the fleet of that database, and routes the repository there
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM zdm_instance WHERE requested_phase = 'dual-write'",
				Integer.class))
			.isEqualTo(1);
		long ada = this.people.create("Ada", "Ada@Example.COM");
		assertThat(this.people.findEmail(ada)).contains("Ada@Example.COM");
		assertThat(this.jdbc.queryForObject("SELECT email_address FROM people WHERE id = ?", String.class, ada))
			.isEqualTo("ada@example.com");
	}

}
