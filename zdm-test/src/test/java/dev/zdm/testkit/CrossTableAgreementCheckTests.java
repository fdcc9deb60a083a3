package dev.zdm.testkit;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The walk's agreement check for a migration into another table, on real PostgreSQL: each target row must hold what
 * {@code up} gives for its source row, no target row may be left without its source row, and, once existing rows
 * are expected to be copied, no source row may be without its target row.
 */
class CrossTableAgreementCheckTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final MigrationDefinition migration = MigrationDefinition.builder("customers-address")
		.table("customers")
		.key("id")
		.targetTable("customer_addresses")
		.targetKey("customer_id")
		.up("street", "address_street")
		.up("city", "upper(address_city)")
		.build();

	@BeforeEach
	void createTables() {
		postgres.jdbc().execute("DROP TABLE IF EXISTS customers, customer_addresses");
		postgres.jdbc().execute("CREATE TABLE customers (id bigint PRIMARY KEY, address_street text, address_city text)");
		postgres.jdbc().execute("CREATE TABLE customer_addresses (customer_id bigint PRIMARY KEY, street text, city text)");
		postgres.jdbc()
			.execute("INSERT INTO customers SELECT i, i || ' Main Street', 'city ' || i FROM generate_series(1, 20) i");
		postgres.jdbc()
			.execute("INSERT INTO customer_addresses SELECT id, address_street, upper(address_city) FROM customers");
	}

	@Test
	void agreesWhenEveryTargetRowHoldsWhatUpGives() {
		assertThat(check(false)).isNull();
	}

	@Test
	void namesATargetRowThatDisagrees() {
		postgres.jdbc().update("UPDATE customer_addresses SET city = 'Elsewhere' WHERE customer_id = 7");
		assertThat(check(true)).startsWith("1 rows of customers and customer_addresses disagree between old and new")
			.contains("id=7: city='Elsewhere' but up upper(address_city) gives 'CITY 7';")
			.doesNotContain("street=");
	}

	@Test
	void aSourceRowWithoutItsTargetRowDisagreesOnlyOnceRowsAreExpectedToBeCopied() {
		postgres.jdbc().update("DELETE FROM customer_addresses WHERE customer_id = 3");
		assertThat(check(true)).isNull();
		assertThat(check(false)).contains("id=3: no row of customer_addresses (customer_id)");
	}

	@Test
	void aTargetRowWithoutItsSourceRowDisagrees() {
		postgres.jdbc().update("DELETE FROM customers WHERE id = 12");
		assertThat(check(true)).contains("id=12: a row of customer_addresses without its row of customers");
	}

	private @Nullable String check(boolean onlyCopiedRows) {
		return new AgreementCheck(postgres.dataSource()).check(this.migration, onlyCopiedRows);
	}

}
