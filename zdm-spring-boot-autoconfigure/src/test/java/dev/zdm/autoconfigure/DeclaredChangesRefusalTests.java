package dev.zdm.autoconfigure;

import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.SchemaSnapshot;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that a bad declared change ({@code zdm.migrations.<id>.columns}, {@code indexes},
 * {@code constraints.*}) fails start-up with what is wrong and what to do, and changes
 * nothing in the database.
 */
class DeclaredChangesRefusalTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, ZdmAutoConfiguration.class))
		.withPropertyValues(postgres.springProperties())
		.withPropertyValues("zdm.migrations.m.table=orders");

	private static List<String> schemaBefore;

	@BeforeAll
	static void createApplicationTables() {
		postgres.jdbc().execute("CREATE TABLE customers (id bigint PRIMARY KEY, code text)");
		postgres.jdbc()
			.execute(
					"CREATE TABLE regions (id bigint PRIMARY KEY, code text CONSTRAINT regions_code UNIQUE DEFERRABLE)");
		postgres.jdbc()
			.execute("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, number text, total numeric)");
		postgres.jdbc().execute("CREATE TABLE orders_taken (id bigint)");
		postgres.jdbc()
			.execute("CREATE TABLE events (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)");
		postgres.jdbc()
			.execute("CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
		schemaBefore = SchemaSnapshot.of(postgres.jdbc());
	}

	@Test
	void unknownNotNullColumn() {
		assertRefused(List.of("zdm.migrations.m.constraints.not-null=customer_idd"),
				"column 'customer_idd' (zdm.migrations.m.constraints.not-null) does not exist in table "
						+ "'public.orders' and neither an expand script nor a declared column adds it; nothing has run",
				"Use one of the table's columns: id, customer_id, number, total.");
	}

	@Test
	void invalidConstraintName() {
		assertRefused(List.of("zdm.migrations.m.constraints.unique[orders number]=number"),
				"'orders number' in zdm.migrations.m.constraints.unique is not a valid SQL identifier",
				"Use the name as the catalog stores it");
	}

	@Test
	void unknownIndexColumn() {
		assertRefused(List.of("zdm.migrations.m.indexes.orders_lookup=customer_id,numbr"),
				"column 'numbr' (zdm.migrations.m.indexes.orders_lookup) does not exist in table 'public.orders'",
				"Use one of the table's columns");
	}

	@Test
	void indexNameOfAnotherRelation() {
		assertRefused(List.of("zdm.migrations.m.indexes.orders_taken=customer_id"),
				"'orders_taken' (zdm.migrations.m.indexes) is already the name of a table in schema public",
				"Give the index a name that is free in schema public.");
	}

	@Test
	void foreignKeyToUnknownTable() {
		assertRefused(
				List.of("zdm.migrations.m.constraints.foreign-keys.orders_customer.columns=customer_id",
						"zdm.migrations.m.constraints.foreign-keys.orders_customer.references=customerz"),
				"table 'customerz' (zdm.migrations.m.constraints.foreign-keys.orders_customer.references) does not "
						+ "exist",
				"Set zdm.migrations.m.constraints.foreign-keys.orders_customer.references to an existing table");
	}

	@Test
	void foreignKeyToColumnsWithoutUniqueIndex() {
		assertRefused(
				List.of("zdm.migrations.m.constraints.foreign-keys.orders_customer.columns=number",
						"zdm.migrations.m.constraints.foreign-keys.orders_customer.references=customers",
						"zdm.migrations.m.constraints.foreign-keys.orders_customer.referenced-columns=code"),
				"columns [code] of table 'public.customers' (zdm.migrations.m.constraints.foreign-keys.orders_customer) "
						+ "have no unique index or primary key of their own",
				"Reference the primary key or columns with a unique constraint");
	}

	@Test
	void foreignKeyToDeferrableUniqueConstraint() {
		assertRefused(
				List.of("zdm.migrations.m.constraints.foreign-keys.orders_region.columns=number",
						"zdm.migrations.m.constraints.foreign-keys.orders_region.references=regions",
						"zdm.migrations.m.constraints.foreign-keys.orders_region.referenced-columns=code"),
				"columns [code] of table 'public.regions' (zdm.migrations.m.constraints.foreign-keys.orders_region) "
						+ "have no unique index or primary key of their own",
				"with a unique constraint that is not deferrable");
	}

	@Test
	void checkOverUnknownColumn() {
		assertRefused(List.of("zdm.migrations.m.constraints.checks.total_positive=totl >= 0"),
				"check constraint zdm.migrations.m.constraints.checks.total_positive = \"totl >= 0\" is invalid: "
						+ "ERROR: column \"totl\" does not exist",
				"over the table's columns (id, customer_id, number, total)");
	}

	@Test
	void checkWithTwoStatements() {
		assertRefused(List.of("zdm.migrations.m.constraints.checks.total_positive=total >= 0; DROP TABLE orders"),
				"is invalid: it contains ';'", "Write it as one boolean SQL expression");
	}

	@Test
	void columnWithVolatileDefault() {
		assertRefused(
				List.of("zdm.migrations.m.columns.score.type=double precision",
						"zdm.migrations.m.columns.score.default=random()"),
				"the default of zdm.migrations.m.columns.score (random()) is volatile: adding the column would "
						+ "rewrite the whole table under an ACCESS EXCLUSIVE lock",
				"Declare the column without a default");
	}

	@Test
	void newColumnNeitherDeclaredNorAddedByAScript() {
		assertRefused(
				List.of("zdm.migrations.m.columns.total_cents.type=bigint",
						"zdm.migrations.m.up.total_cent=(total * 100)::bigint"),
				"new column 'total_cent' (zdm.migrations.m.up) is not in table 'public.orders' and no expand script "
						+ "adds it (the migration has no expand scripts); nothing has run",
				"Did you mean 'total_cents', which the expand adds?");
	}

	@Test
	void columnWithUnknownType() {
		assertRefused(List.of("zdm.migrations.m.columns.status.type=txet"),
				"zdm.migrations.m.columns.status (type txet) is invalid: ERROR: type \"txet\" does not exist",
				"Correct zdm.migrations.m.columns.status.type");
	}

	@Test
	void columnWithoutType() {
		assertRefused(List.of("zdm.migrations.m.columns.status.default='new'"),
				"no type is declared for column 'status'", "Set zdm.migrations.m.columns.status.type");
	}

	@Test
	void uniqueConstraintOfAPartitionedTableWithoutThePartitionKey() {
		assertRefused(
				List.of("zdm.migrations.m.table=events", "zdm.migrations.m.key=id",
						"zdm.migrations.m.constraints.unique.events_id=id"),
				"table 'public.events' is partitioned by at, and PostgreSQL enforces a unique constraint of a "
						+ "partitioned table only over columns that include every column of the partition key "
						+ "(zdm.migrations.m.constraints.unique.events_id: id)",
				"Add the partition key's columns to zdm.migrations.m.constraints.unique.events_id");
	}

	@Test
	void indexOfAPartitionedTableWhosePartitionIsPartitionedInTurn() {
		postgres.jdbc()
			.execute("CREATE TABLE IF NOT EXISTS nested (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) "
					+ "PARTITION BY RANGE (at)");
		postgres.jdbc()
			.execute("CREATE TABLE IF NOT EXISTS nested_2026 PARTITION OF nested FOR VALUES FROM ('2026-01-01') "
					+ "TO ('2027-01-01') PARTITION BY RANGE (id)");
		schemaBefore = SchemaSnapshot.of(postgres.jdbc());
		assertRefused(
				List.of("zdm.migrations.m.table=nested", "zdm.migrations.m.key=id, at",
						"zdm.migrations.m.indexes.nested_at=at"),
				"table 'public.nested' is partitioned, and its partition 'public.nested_2026' is partitioned in turn",
				"CREATE INDEX <name> ON ONLY public.nested (<columns>)");
	}

	private void assertRefused(List<String> properties, String description, String action) {
		this.contextRunner.withPropertyValues(properties.toArray(String[]::new)).run((context) -> {
			assertThat(context).hasFailed();
			FailureAnalysis analysis = new ZdmFailureAnalyzer().analyze(context.getStartupFailure());
			assertThat(analysis).as("failure analysis of %s", context.getStartupFailure()).isNotNull();
			assertThat(analysis.getDescription()).contains(description);
			assertThat(analysis.getAction()).contains(action);
		});
		assertThat(SchemaSnapshot.of(postgres.jdbc())).as("schema after a refused declaration").isEqualTo(schemaBefore);
	}

}
