package dev.zdm.jpa;

import org.junit.jupiter.api.Test;

import dev.zdm.testkit.PostgresSource;
import dev.zdm.testkit.ZdmDatabase;
import dev.zdm.testkit.ZdmPlan;
import dev.zdm.testkit.ZdmTest;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the test kit's {@link ZdmPlan} on a JPA application: its
 * {@code EntityManagerFactory}, which zdm's auto-configuration makes wait for the phase
 * controller and which starts however lazy the context is, no longer starts zdm while the
 * plan is computed.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class JpaPlanTests {

	@Test
	void planOfAJpaApplicationIsComputedAndZdmWritesNothing(ZdmDatabase database) {
		// Hibernate would validate entities of columns the plan only describes, or create
		// tables: it is told to do neither
		ZdmPlan plan = ZdmPlan.of(JpaServiceApplication.class, database, "spring.jpa.hibernate.ddl-auto=validate");
		assertThat(plan.migrationIds()).containsExactly("customers-email", "members-email", "shops-address");
		assertThat(plan.text("customers-email"))
			.startsWith("zdm plan of migration 'customers-email' on public.customers")
			.contains("Phase expand: ", "Phase contract: ");
		assertThat(database.jdbc().queryForObject("SELECT to_regclass('customers') IS NOT NULL", Boolean.class))
			.as("the application's own Flyway ran")
			.isTrue();
		assertThat(database.jdbc().queryForList("SELECT relname FROM pg_class WHERE relname LIKE 'zdm%'", String.class))
			.as("zdm's tables")
			.isEmpty();
		assertThat(database.jdbc()
			.queryForObject("SELECT count(*) FROM information_schema.columns WHERE table_name = 'customers' "
					+ "AND column_name = 'email_address'", Integer.class))
			.as("no expand ran")
			.isZero();
	}

}
