package dev.zdm.internal.catalog;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link MigrationValidator}'s checks of a migration into another table, once
 * the expand DDL has run.
 */
class CrossTableValidationTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static MigrationValidator validator;

	@BeforeAll
	static void createTables() {
		postgres.jdbc().execute("""
				CREATE TABLE orders (id bigint PRIMARY KEY, address_street text, address_city text);
				CREATE TABLE order_addresses (order_id bigint PRIMARY KEY, street text, city text);
				CREATE TABLE loose_addresses (order_id bigint, street text, city text);
				CREATE TABLE partial_addresses (order_id bigint, street text, city text);
				CREATE UNIQUE INDEX partial_addresses_key ON partial_addresses (order_id) WHERE street IS NOT NULL;
				CREATE TABLE indexed_addresses (id serial PRIMARY KEY, order_id bigint, street text, city text);
				CREATE UNIQUE INDEX indexed_addresses_key ON indexed_addresses (order_id);
				CREATE TABLE int_addresses (order_id int PRIMARY KEY, street text, city text);
				""");
		validator = new MigrationValidator(new DatabaseCatalog(postgres.dataSource()));
	}

	@Test
	void targetTableIsQualifiedAndTargetKeyDefaultsToTheSourceKey() {
		postgres.jdbc().execute("CREATE TABLE IF NOT EXISTS id_addresses (id bigint PRIMARY KEY, street text)");
		MigrationDefinition migration = validate(builder("id_addresses").up("street", "address_street"));
		assertThat(migration.targetTable().quoted()).isEqualTo("\"public\".\"id_addresses\"");
		assertThat(migration.targetKey().name()).isEqualTo("id");
		assertThat(migration.sync()).isEqualTo(SyncMode.REPOSITORIES);
		assertThat(migration.hasBackfill()).isTrue();
	}

	@Test
	void uniqueIndexOnTheTargetKeyIsEnough() {
		MigrationDefinition migration = validate(
				builder("indexed_addresses").targetKey("order_id").up("street", "address_street"));
		assertThat(migration.targetKey().name()).isEqualTo("order_id");
	}

	@Test
	void missingTargetTableIsRefused() {
		assertRefused(builder("no_addresses").targetKey("order_id").up("street", "address_street"),
				"target table 'no_addresses' does not exist after the expand scripts ran", "Create the table");
	}

	@Test
	void missingTargetKeyColumnIsRefused() {
		assertRefused(builder("order_addresses").targetKey("orderid").up("street", "address_street"),
				"column 'orderid' (the target key column, zdm.migrations.m.target-key) does not exist",
				"Use one of the table's columns: order_id, street, city.");
	}

	@Test
	void targetKeyWithoutUniqueIndexIsRefused() {
		assertRefused(builder("loose_addresses").targetKey("order_id").up("street", "address_street"),
				"target key column 'order_id' is not unique in 'public.loose_addresses'", "CREATE UNIQUE INDEX");
		assertRefused(builder("partial_addresses").targetKey("order_id").up("street", "address_street"),
				"is not unique in 'public.partial_addresses'", "CREATE UNIQUE INDEX");
	}

	@Test
	void targetKeyOfAnotherTypeIsRefused() {
		assertRefused(builder("int_addresses").targetKey("order_id").up("street", "address_street"),
				"target key column 'order_id' of 'public.int_addresses' is integer but the source key 'id'",
				"Give the target key column the source key's type (bigint)");
	}

	@Test
	void missingTargetColumnIsRefused() {
		assertRefused(builder("order_addresses").targetKey("order_id").up("zip", "address_street"),
				"new column 'zip' (zdm.migrations.m.up) does not exist in table 'public.order_addresses'",
				"Add the column in an expand script");
	}

	@Test
	void downExpressionsAreCheckedAgainstTheTargetTable() {
		assertRefused(
				builder("order_addresses").targetKey("order_id")
					.up("street", "address_street")
					.down("address_street", "address_street"),
				"expression zdm.migrations.m.down.address_street = \"address_street\" is invalid", "");
		validate(builder("order_addresses").targetKey("order_id")
			.up("street", "address_street")
			.down("address_street", "street"));
	}

	private static MigrationDefinition.Builder builder(String target) {
		return MigrationDefinition.builder("m").table("orders").targetTable(target);
	}

	private static MigrationDefinition validate(MigrationDefinition.Builder builder) {
		MigrationDefinition resolved = validator.validateBeforeExpand(builder.build(), false);
		return validator.validateAfterExpand(resolved, false);
	}

	private static void assertRefused(MigrationDefinition.Builder builder, String description, String action) {
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(() -> validate(builder))
			.satisfies((ex) -> {
				assertThat(ex.getDescription()).contains(description);
				assertThat(ex.getAction()).contains(action);
			});
	}

}
