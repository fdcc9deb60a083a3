package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.Phase;
import dev.zdm.testkit.customers.CustomerApplication;
import dev.zdm.testkit.customers.CustomerRepository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link PhaseWalk#run()} with a cross-table migration: a correct application
 * walks through every phase with source and target rows agreeing; a new repository that
 * writes a wrong value or leaves a target row behind fails naming the phase and the row.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class CrossTableWalkTests {

	private static final int EXISTING_CUSTOMERS = 200;

	@Test
	void walksEveryPhaseWithInsertsUpdatesAndDeletesAtEachOne(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		List<Phase> phases = new ArrayList<>();
		Map<Long, String> cities = new ConcurrentHashMap<>();
		WalkReport report = customers(walk).scenario((step) -> {
			phases.add(step.phase());
			crud(step, cities);
		}).run();
		assertThat(phases).containsExactlyElementsOf(Phase.steps());
		// every write went through the application: nothing for the verification to
		// repair
		// (testing.md)
		assertThat(report.backfillProgress("customers-address").verification().rowsRepaired()).isZero();
		JdbcTemplate jdbc = walk.database().jdbc();
		assertThat(jdbc.queryForList(
				"SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'", String.class))
			.containsExactlyInAnyOrder("id", "name");
		assertThat(jdbc.queryForObject("SELECT count(*) FROM customers c FULL JOIN customer_addresses a "
				+ "ON a.customer_id = c.id WHERE c.id IS NULL OR a.customer_id IS NULL", Integer.class))
			.as("customers without an address, or addresses without a customer")
			.isZero();
		assertThat(cities).hasSizeGreaterThan(Phase.steps().size());
		cities.forEach((id, city) -> assertThat(
				jdbc.queryForList("SELECT city FROM customer_addresses WHERE customer_id = ?", String.class, id))
			.as("customer %d", id)
			.containsExactly(city.toUpperCase(Locale.ROOT)));
	}

	// a team's configuration for production, whose roles the test database does not
	// have: zdm's tables in a schema of their own (the walk read its DDL history in the
	// current schema, and failed on a table it did not find), and Flyway's migrator (zdm
	// ran its DDL as that role, which owned none of the test's tables)
	@Test
	void walksEveryPhaseWithZdmsTablesInASchemaOfTheirOwnAndFlywaysUserOfProduction(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		Map<Long, String> cities = new ConcurrentHashMap<>();
		customers(walk).property("zdm.schema", "walk_ops")
			.property("spring.flyway.user", "migrator")
			.property("spring.flyway.password", "not-in-the-test-database")
			.scenario((step) -> crud(step, cities))
			.run();
		JdbcTemplate jdbc = walk.database().jdbc();
		assertThat(
				jdbc.queryForObject("SELECT count(*) FROM walk_ops.zdm_ddl_step WHERE state = 'done'", Integer.class))
			.as("the expand and the contract, recorded in zdm.schema")
			.isEqualTo(2);
		cities.forEach((id, city) -> assertThat(
				jdbc.queryForList("SELECT city FROM customer_addresses WHERE customer_id = ?", String.class, id))
			.as("customer %d", id)
			.containsExactly(city.toUpperCase(Locale.ROOT)));
	}

	@Test
	void walksTwoVersionsSideBySideWithInsertsUpdatesAndDeletesAtEachStep(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		List<String> steps = new ArrayList<>();
		Map<Long, String> cities = new ConcurrentHashMap<>();
		customers(walk).scenario((step) -> {
			steps.add(step.instance());
			crud(step, cities);
		}).runMixedFleet();
		assertThat(steps).contains("walk-old-expand", "walk-new-dual-write", "walk-old-read-new", "walk-new-contract");
		JdbcTemplate jdbc = walk.database().jdbc();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM customers c FULL JOIN customer_addresses a "
				+ "ON a.customer_id = c.id WHERE c.id IS NULL OR a.customer_id IS NULL", Integer.class))
			.isZero();
		cities.forEach((id, city) -> assertThat(
				jdbc.queryForList("SELECT city FROM customer_addresses WHERE customer_id = ?", String.class, id))
			.as("customer %d", id)
			.containsExactly(city.toUpperCase(Locale.ROOT)));
	}

	@Test
	void newRepositoryThatWritesAWrongValueFailsNamingThePhaseAndTheRow(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> customers(walk).property("customers.new-repository", "wrong-value")
				// no backfill, as below: its repairs would race with the check
				.property("zdm.migrations.customers-address.backfill.enabled", "false")
				.scenario((step) -> crud(step, new ConcurrentHashMap<>()))
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.DUAL_WRITE))
			.withMessageContaining("zdm walk failed at phase dual-write (instance walk-walk-dual-write)")
			.withMessageMatching("(?s).*migration 'customers-address': 1 rows disagree between (public\\.)?customers "
					+ "\\(\\d+ rows\\) and (public\\.)?customer_addresses \\(\\d+ rows\\): 0 extra in "
					+ "(public\\.)?customer_addresses \\(no source row\\), 1 where a target column does not hold "
					+ "what up gives for the source row:.*")
			.withMessageMatching("(?s).*\n  - id=\\d+: street='Customer dual-write' but up address_street gives "
					+ "'dual-write Street'; \\(address_street='dual-write Street', address_city='Paris dual-write'\\)"
					+ ".*");
	}

	@Test
	void newRepositoryThatLeavesTheTargetRowBehindFailsNamingThePhaseAndTheRow(PhaseWalk walk) {
		createCustomers(walk.database().jdbc());
		assertThatExceptionOfType(PhaseWalkFailure.class)
			.isThrownBy(() -> customers(walk).property("customers.new-repository", "forgets-delete")
				// no backfill: the next deploy, started while this step runs, would
				// otherwise
				// copy and repair rows while the step is checked, and the rows left
				// behind
				// would depend on when it starts
				.property("zdm.migrations.customers-address.backfill.enabled", "false")
				.scenario((step) -> crud(step, new ConcurrentHashMap<>()))
				.run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.DUAL_WRITE))
			.withMessageContaining("zdm walk failed at phase dual-write (instance walk-walk-dual-write)")
			.withMessageMatching("(?s).*: 1 extra in (public\\.)?customer_addresses \\(no source row\\), 0 where.*")
			.withMessageMatching("(?s).*\n  - customer_id=\\d+: extra row in (public\\.)?customer_addresses, no row "
					+ "in (public\\.)?customers has this key: street='Gone dual-write Street' city='GONE';.*");
	}

	static PhaseWalk customers(PhaseWalk walk) {
		return walk.application(CustomerApplication.class).property("spring.config.name", "customers");
	}

	static void createCustomers(JdbcTemplate jdbc) {
		jdbc.execute("CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, address_street text, "
				+ "address_city text)");
		jdbc.update("INSERT INTO customers (name, address_street, address_city) SELECT 'Customer ' || i, "
				+ "i || ' Main Street', 'City ' || i FROM generate_series(1, ?) AS i", EXISTING_CUSTOMERS);
	}

	/**
	 * Creates a customer and reads its city back, changes the address of one created
	 * earlier, deletes an existing one, and creates and deletes another.
	 */
	static void crud(PhaseStep step, Map<Long, String> cities) {
		CustomerRepository customers = step.getBean(CustomerRepository.class);
		String suffix = step.phase().value() + ((step.instance().contains("old")) ? "-old" : "");
		String city = "Paris " + suffix;
		long id = customers.create("Customer " + suffix, suffix + " Street", city);
		cities.put(id, city);
		assertThat(customers.findCity(id)).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
			.isEqualToIgnoringCase(city);
		long changed = (id % EXISTING_CUSTOMERS) + 1;
		String changedCity = "Changed " + suffix;
		if (customers.updateAddress(changed, "Changed Street", changedCity)) {
			cities.put(changed, changedCity);
			assertThat(customers.findCity(changed)).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
				.isEqualToIgnoringCase(changedCity);
		}
		long deleted = EXISTING_CUSTOMERS - step.phase().ordinal() * 2 - ((step.instance().contains("old")) ? 1 : 0);
		customers.delete(deleted);
		cities.remove(deleted);
		assertThat(customers.findCity(deleted)).isEmpty();
		long gone = customers.create("Gone " + suffix, "Gone " + suffix + " Street", "Gone");
		customers.delete(gone);
		assertThat(customers.findCity(gone)).isEmpty();
	}

}
