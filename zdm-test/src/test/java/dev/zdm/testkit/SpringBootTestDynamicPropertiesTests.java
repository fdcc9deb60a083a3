package dev.zdm.testkit;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import dev.zdm.testkit.people.PeopleApplication;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ZdmTest} on a {@code @SpringBootTest} class whose
 * {@code @DynamicPropertySource} names a database, as a shared test configuration or a
 * Testcontainers base class does: the application still runs on a database of the kit's
 * own, while the test's other dynamic properties (a migration's phase) apply.
 */
@ZdmTest
@SpringBootTest(classes = PeopleApplication.class, properties = "spring.config.name=people")
class SpringBootTestDynamicPropertiesTests {

	@DynamicPropertySource
	static void database(DynamicPropertyRegistry registry) {
		registry.add("spring.datasource.url", () -> "jdbc:postgresql://localhost:1/the_deployed_database");
		registry.add("spring.datasource.username", () -> "deployer");
		registry.add("zdm.migrations.people-email.phase", () -> "dual-write");
	}

	@Autowired
	private JdbcTemplate jdbc;

	@Autowired
	private Environment environment;

	@Test
	void applicationRunsOnADatabaseOfTheKitsOwnWhateverADynamicPropertyNames() {
		assertThat(this.environment.getProperty("spring.datasource.url")).doesNotContain("the_deployed_database");
		assertThat(this.jdbc.queryForObject("SELECT current_database()", String.class))
			.startsWith("zdm_springboottestdynamicpropertiestests");
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM zdm_instance WHERE requested_phase = 'dual-write'",
				Integer.class))
			.as("the test's dynamic phase")
			.isEqualTo(1);
	}

}
