package dev.zdm.testkit.people;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.test.autoconfigure.JdbcTest;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.ZdmTest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ZdmTest} on a JDBC slice: the slice runs on the kit's database, not on
 * an embedded one of its own, with zdm's auto-configuration, which the slice alone leaves
 * out, routing the application's repositories by phase.
 */
@ZdmTest
@JdbcTest(properties = { "spring.config.name=people", "zdm.migrations.people-email.phase=read-new" })
@Import({ OldPersonRepository.class, NewPersonRepository.class })
class PeopleJdbcSliceTests {

	@Autowired
	private JdbcTemplate jdbc;

	@Autowired
	private PersonRepository people;

	@Autowired
	private PhaseController controller;

	@Test
	void sliceRunsZdmOnTheKitsDatabaseAndRoutesTheRepositoriesByPhase() {
		assertThat(this.jdbc.queryForObject("SELECT current_database()", String.class))
			.startsWith("zdm_peoplejdbcslicetests");
		assertThat(this.controller.status("people-email").effective()).isEqualTo(Phase.READ_NEW);
		long ada = this.people.create("Ada", "Ada@Example.COM");
		// read-new: the new repository writes and reads email_address, lower-cased
		assertThat(this.jdbc.queryForObject("SELECT email_address FROM people WHERE id = ?", String.class, ada))
			.isEqualTo("ada@example.com");
		assertThat(this.people.findEmail(ada)).contains("ada@example.com");
	}

}
