package dev.zdm.testkit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link AgreementCheck} on a cross-table migration: missing, extra and
 * different target rows, and which of them count before the backfill copied the
 * pre-existing rows.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class AgreementCheckCrossTableTests {

	private static final MigrationDefinition MIGRATION = MigrationDefinition.builder("customers-address")
		.table("customers")
		.key("id")
		.targetTable("customer_addresses")
		.targetKey("customer_id")
		.up("street", "address_street")
		.up("city", "upper(address_city)")
		.down("address_street", "street")
		.build();

	private JdbcTemplate jdbc;

	private AgreementCheck check;

	@BeforeEach
	void createTables(ZdmDatabase database) {
		this.jdbc = database.jdbc();
		this.check = new AgreementCheck(database.dataSource());
		this.jdbc.execute("CREATE TABLE customers (id bigint PRIMARY KEY, address_street text, address_city text)");
		this.jdbc.execute("CREATE TABLE customer_addresses (customer_id bigint PRIMARY KEY, street text, city text)");
		this.jdbc.update("INSERT INTO customers SELECT i, i || ' Main Street', 'City ' || i "
				+ "FROM generate_series(1, 30) AS i");
	}

	@Test
	void targetRowsThatMatchTheirSourceRowsAgree() {
		copy("id <= 30");
		assertThat(this.check.check(MIGRATION, false)).isNull();
		assertThat(this.check.check(MIGRATION, true)).isNull();
	}

	@Test
	void nullValuesAgreeWhenUpGivesNull() {
		this.jdbc.update("UPDATE customers SET address_city = NULL WHERE id = 3");
		copy("id <= 30");
		assertThat(this.check.check(MIGRATION, false)).isNull();
	}

	@Test
	void missingTargetRowsCountOnlyOnceThePreExistingRowsAreCopied() {
		copy("id <= 20");
		assertThat(this.check.check(MIGRATION, true)).isNull();
		assertThat(this.check.check(MIGRATION, false))
			.startsWith("10 rows disagree between customers (30 rows) and customer_addresses (20 rows): 10 missing in "
					+ "customer_addresses, 0 extra in customer_addresses (no source row), 0 where a target column "
					+ "does not hold what up gives for the source row:")
			.contains("\n  - id=21: no row in customer_addresses where up gives street='21 Main Street' "
					+ "city='CITY 21'; (address_street='21 Main Street')")
			.doesNotContain("id=20:");
	}

	@Test
	void extraTargetRowsAreReportedBeforeAndAfterTheBackfill() {
		copy("id <= 30");
		this.jdbc.update("DELETE FROM customers WHERE id IN (5, 7)");
		String expected = "2 rows disagree between customers (28 rows) and customer_addresses (30 rows)";
		assertThat(this.check.check(MIGRATION, true)).startsWith(expected)
			.contains(": 2 extra in customer_addresses (no source row), 0 where")
			.contains("\n  - customer_id=5: extra row in customer_addresses, no row in customers has this key: "
					+ "street='5 Main Street' city='CITY 5';")
			.contains("\n  - customer_id=7: extra row");
		assertThat(this.check.check(MIGRATION, false)).startsWith(expected).contains("0 missing in customer_addresses");
	}

	@Test
	void differentValuesNameTheRowTheColumnAndWhatUpGives() {
		copy("id <= 30");
		this.jdbc.update("UPDATE customer_addresses SET city = 'Elsewhere' WHERE customer_id = 12");
		this.jdbc.update("UPDATE customers SET address_street = 'New Street' WHERE id = 13");
		assertThat(this.check.check(MIGRATION, true)).startsWith("2 rows disagree")
			.contains(", 2 where a target column does not hold what up gives for the source row:")
			.contains("\n  - id=12: city='Elsewhere' but up upper(address_city) gives 'CITY 12'; "
					+ "(address_street='12 Main Street')")
			.contains("\n  - id=13: street='13 Main Street' but up address_street gives 'New Street'; "
					+ "(address_street='New Street')");
	}

	@Test
	void atMostTenRowsAreListed() {
		copy("id <= 30");
		this.jdbc.update("UPDATE customer_addresses SET street = 'x'");
		String disagreement = this.check.check(MIGRATION, true);
		assertThat(disagreement).startsWith("30 rows disagree").contains("(first 10 shown)");
		assertThat(disagreement.lines().filter((line) -> line.startsWith("  - "))).hasSize(10);
	}

	@Test
	void aKeyOfSeveralColumnsIsMatchedOnEveryColumn() {
		MigrationDefinition byTenant = MigrationDefinition.builder("accounts-address")
			.table("accounts")
			.key("tenant_id", "id")
			.targetTable("account_addresses")
			.targetKey("tenant_id", "account_id")
			.up("street", "address_street")
			.build();
		this.jdbc.execute("CREATE TABLE accounts (tenant_id int, id bigint, address_street text, "
				+ "PRIMARY KEY (tenant_id, id))");
		this.jdbc.execute("CREATE TABLE account_addresses (tenant_id int, account_id bigint, street text, "
				+ "PRIMARY KEY (tenant_id, account_id))");
		// the same id under two tenants
		this.jdbc.update("INSERT INTO accounts SELECT t, i, t || '-' || i || ' Main Street' "
				+ "FROM generate_series(1, 2) AS t, generate_series(1, 10) AS i");
		this.jdbc.update("INSERT INTO account_addresses SELECT tenant_id, id, address_street FROM accounts");
		assertThat(this.check.check(byTenant, false)).isNull();
		this.jdbc.update("UPDATE account_addresses SET street = 'x' WHERE tenant_id = 2 AND account_id = 4");
		this.jdbc.update("DELETE FROM account_addresses WHERE tenant_id = 1 AND account_id = 9");
		this.jdbc.update("INSERT INTO account_addresses VALUES (3, 4, 'nowhere')");
		assertThat(this.check.check(byTenant, false))
			.startsWith("3 rows disagree between accounts (20 rows) and account_addresses (20 rows): 1 missing in "
					+ "account_addresses, 1 extra in account_addresses (no source row), 1 where a target column "
					+ "does not hold what up gives for the source row:")
			.contains("\n  - tenant_id=1, id=9: no row in account_addresses where up gives street='1-9 Main Street';")
			.contains("\n  - tenant_id=2, id=4: street='x' but up address_street gives '2-4 Main Street';")
			.contains("\n  - tenant_id=3, account_id=4: extra row in account_addresses, no row in accounts has "
					+ "this key: street='nowhere';");
	}

	private void copy(String where) {
		this.jdbc.update("INSERT INTO customer_addresses SELECT id, address_street, upper(address_city) "
				+ "FROM customers WHERE " + where);
	}

}
