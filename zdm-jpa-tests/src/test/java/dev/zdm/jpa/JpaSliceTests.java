package dev.zdm.jpa;

import jakarta.persistence.EntityManager;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.jpa.test.autoconfigure.DataJpaTest;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.jpa.customers.Customer;
import dev.zdm.jpa.customers.CustomerRepository;
import dev.zdm.jpa.customers.NewCustomers;
import dev.zdm.jpa.customers.OldCustomers;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.ZdmTest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the test kit's {@code @ZdmTest} on a {@code @DataJpaTest} slice: the slice
 * runs on the kit's PostgreSQL database, not on an embedded one of its own, with zdm's
 * auto-configuration, which the slice alone leaves out, routing the service's
 * repositories by phase.
 */
@ZdmTest
@DataJpaTest(properties = "zdm.migrations.customers-email.phase=read-new")
@Import({ OldCustomers.class, NewCustomers.class })
class JpaSliceTests {

	@Autowired
	private JdbcTemplate jdbc;

	@Autowired
	private CustomerRepository customers;

	@Autowired
	private PhaseController controller;

	@Autowired
	private EntityManager entityManager;

	@Test
	void dataJpaSliceRunsZdmOnTheKitsDatabaseAndRoutesTheRepositoriesByPhase() {
		assertThat(this.jdbc.queryForObject("SELECT current_database()", String.class)).startsWith("zdm_jpaslicetests");
		assertThat(this.controller.status("customers-email").effective()).isEqualTo(Phase.READ_NEW);
		Customer ada = this.customers.create("Ada", "Ada@Example.COM", 1250);
		this.entityManager.flush();
		// read-new: the new entity writes email_address as given (the sync trigger would
		// have lower-cased it from an old-shape write)
		assertThat(this.jdbc.queryForObject("SELECT email_address FROM customers WHERE id = ?", String.class, ada.id()))
			.isEqualTo("Ada@Example.COM");
		assertThat(this.customers.findById(ada.id()))
			.hasValueSatisfying((found) -> assertThat(found.email()).isEqualTo("Ada@Example.COM"));
	}

}
