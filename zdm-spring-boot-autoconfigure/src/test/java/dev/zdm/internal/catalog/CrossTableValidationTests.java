package dev.zdm.internal.catalog;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
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
				CREATE TABLE tenant_orders (tenant text NOT NULL, id bigint NOT NULL, street text,
				  PRIMARY KEY (tenant, id));
				CREATE TABLE tenant_addresses (tenant text NOT NULL, order_id bigint NOT NULL, street text);
				CREATE UNIQUE INDEX tenant_addresses_key ON tenant_addresses (order_id, tenant);
				CREATE TABLE tenant_loose_addresses (tenant text NOT NULL, order_id bigint NOT NULL, street text);
				CREATE UNIQUE INDEX tenant_loose_addresses_tenant ON tenant_loose_addresses (tenant);
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
	void keyOfSeveralColumnsMapsToTargetColumnsUniqueTogetherInAnyOrder() {
		MigrationDefinition migration = validate(MigrationDefinition.builder("m")
			.table("tenant_orders")
			.targetTable("tenant_addresses")
			.targetKey("tenant", "order_id")
			.up("street", "street"));
		assertThat(migration.key()).extracting(SqlIdentifier::name).containsExactly("tenant", "id");
		assertThat(migration.targetKeys()).extracting(SqlIdentifier::name).containsExactly("tenant", "order_id");
		assertThat(migration.targetKey()).as("no single target key column").isNull();
	}

	@Test
	void targetKeyOfAnotherNumberOfColumnsOrNotUniqueTogetherIsRefused() {
		assertRefused(
				MigrationDefinition.builder("m")
					.table("tenant_orders")
					.targetTable("tenant_addresses")
					.targetKey("order_id")
					.up("street", "street"),
				"target-key names 1 column(s) [order_id] but the key of public.tenant_orders has 2",
				"Name one target key column for each column of the key");
		assertRefused(
				MigrationDefinition.builder("m")
					.table("tenant_orders")
					.targetTable("tenant_loose_addresses")
					.targetKey("tenant", "order_id")
					.up("street", "street"),
				"target key columns (tenant, order_id) are not unique in 'public.tenant_loose_addresses'",
				"CREATE UNIQUE INDEX CONCURRENTLY ... ON public.tenant_loose_addresses (tenant, order_id)");
	}

	@Test
	void targetKeyNamingAKeyColumnAtAnotherPlaceIsRefusedWithTheKeysOrder() {
		// refused before the types are compared: with key columns of one type, this
		// order would have the copy put each tenant into order_id, silently
		assertRefused(
				MigrationDefinition.builder("m")
					.table("tenant_orders")
					.targetTable("tenant_addresses")
					.targetKey("order_id", "tenant")
					.up("street", "street"),
				"zdm.migrations.m.target-key [order_id, tenant] names a column of the source key [tenant, id] at "
						+ "another place than the key's",
				"Did you mean zdm.migrations.m.target-key: tenant, order_id?");
		// before the expand ran, with no target table yet: it needs only the declaration
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> validator.validateBeforeExpand(MigrationDefinition.builder("m")
				.table("tenant_orders")
				.targetTable("tenant_notes_not_created_yet")
				.targetKey("order_id", "tenant")
				.up("street", "street")
				.build(), false))
			.withMessageContaining("target-key follows the key's order");
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
				"expression zdm.migrations.m.down.address_street = \"address_street\" names a column that table "
						+ "'public.order_addresses' has not",
				"Use the table's columns in it: ");
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
