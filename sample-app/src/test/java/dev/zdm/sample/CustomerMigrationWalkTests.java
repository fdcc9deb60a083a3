package dev.zdm.sample;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.RestClient;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.PhaseStep;
import dev.zdm.testkit.PhaseWalk;
import dev.zdm.testkit.WalkReport;
import dev.zdm.testkit.ZdmPlan;
import dev.zdm.testkit.ZdmScripts;
import dev.zdm.testkit.ZdmTest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The sample's two migrations, {@code customers-email} (inside one table) and
 * {@code customers-address} (into {@code customer_addresses}), walked through every phase
 * with zdm's test kit: at each phase the service creates, reads, changes and deletes
 * customers over HTTP, then the kit checks that old and new agree for every row, that the
 * backfill verified (copying the addresses of the customers that existed before) and that
 * the contract ran; the plan shown before the walk is, statement by statement, what the
 * DDL history records after it.
 */
@Isolated
@ZdmTest
class CustomerMigrationWalkTests {

	static final int EXISTING_CUSTOMERS = 1_000;

	@Test
	void walksTheMigrationThroughEveryPhase(PhaseWalk walk) {
		List<Phase> phases = new ArrayList<>();
		long started = System.nanoTime();
		// the plan before anything runs, on the walk's database: only the application's
		// own Flyway has run
		ZdmPlan plan = ZdmPlan.of(SampleApplication.class, walk.database());
		System.out.println(plan.text());
		WalkReport report = walk.application(SampleApplication.class)
			.beforeExpand(CustomerMigrationWalkTests::createExistingCustomers)
			.scenario((step) -> {
				phases.add(step.phase());
				createReadChangeAndDelete(step);
			})
			.run();
		long millis = (System.nanoTime() - started) / 1_000_000;
		assertThat(phases).containsExactlyElementsOf(Phase.steps());
		BackfillProgress emails = report.backfillProgress("customers-email");
		assertThat(emails).isNotNull();
		assertThat(emails.rowsUpdated()).as("e-mail addresses the backfill copied")
			.isGreaterThanOrEqualTo(EXISTING_CUSTOMERS - 2L * Phase.steps().size());
		assertThat(walk.database()
			.jdbc()
			.queryForObject("SELECT count(*) FROM customers WHERE email_address IS NULL", Integer.class)).isZero();
		assertThat(walk.database()
			.jdbc()
			.queryForObject("SELECT count(*) FROM customers c JOIN customer_addresses a ON a.customer_id = c.id "
					+ "WHERE c.name LIKE 'customer %' AND a.street = c.id || ' Main Street' "
					+ "AND a.city = 'City ' || (c.id % 100)", Integer.class))
			.as("addresses of the customers that existed before expand, copied by the backfill")
			.isEqualTo(EXISTING_CUSTOMERS - Phase.steps().size());
		System.out.println("CustomerMigrationWalkTests: the walk through every phase took " + millis + " ms");
		assertThat(plan.migrationIds()).containsExactly("customers-email", "customers-address");
		for (String id : plan.migrationIds()) {
			assertThat(plan.statements(id)).as("the plan of %s, statement by statement, against the DDL history", id)
				.isNotEmpty()
				.containsExactlyElementsOf(walk.database()
					.jdbc()
					.queryForList("SELECT step || ' ' || source || ' #' || statement_index || ': ' || statement "
							+ "FROM zdm_ddl_statement WHERE migration_id = ? AND state = 'applied' "
							+ "ORDER BY started_at, step, source, statement_index", String.class, id));
		}
	}

	@Test
	void scriptsAreSafe() {
		ZdmScripts.check("classpath:db/zdm/customers-email");
		ZdmScripts.check("classpath:db/zdm/customers-address");
	}

	static void createExistingCustomers(JdbcTemplate jdbc) {
		jdbc.update("INSERT INTO customers (name, email, address_street, address_city) SELECT 'customer ' || i, "
				+ "'Customer.' || i || '@Example.com', i || ' Main Street', 'City ' || (i % 100) "
				+ "FROM generate_series(1, ?) AS i", EXISTING_CUSTOMERS);
	}

	static void createReadChangeAndDelete(PhaseStep step) {
		RestClient client = RestClient.create(step.baseUrl());
		String email = "Ada." + step.phase().value() + "@Example.com";
		Customer created = client.post()
			.uri("/customers")
			.body(Map.of("name", "Ada", "email", email))
			.retrieve()
			.body(Customer.class);
		assertThat(created).isNotNull();
		assertThat(client.get().uri("/customers/{id}", created.id()).retrieve().body(Customer.class))
			.extracting(Customer::email, org.assertj.core.api.InstanceOfAssertFactories.STRING)
			.isEqualToIgnoringCase(email);
		long existing = 1 + step.phase().ordinal() * 2;
		String changed = "Changed." + step.phase().value() + "@Example.com";
		client.put()
			.uri("/customers/{id}/email", existing)
			.body(Map.of("email", changed))
			.retrieve()
			.toBodilessEntity();
		assertThat(client.get().uri("/customers/{id}", existing).retrieve().body(Customer.class))
			.extracting(Customer::email, org.assertj.core.api.InstanceOfAssertFactories.STRING)
			.isEqualToIgnoringCase(changed);
		long deleted = existing + 1;
		client.delete().uri("/customers/{id}", deleted).retrieve().toBodilessEntity();
		assertThatExceptionOfType(HttpClientErrorException.class)
			.isThrownBy(() -> client.get().uri("/customers/{id}", deleted).retrieve().body(Customer.class))
			.satisfies((ex) -> assertThat(ex.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND));
	}

}
