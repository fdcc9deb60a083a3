package dev.zdm.autoconfigure;

import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import dev.zdm.migration.DeclaredChanges;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that declared changes bound from {@code zdm.migrations.<id>.columns},
 * {@code indexes} and {@code constraints.*} are mapped to the definition as the builder
 * declares them.
 */
class MigrationDefinitionsDeclaredTests {

	@Test
	void declaredChangesAreBoundAndMappedLikeTheBuilderDeclaresThem() {
		Map<String, String> properties = Map.ofEntries(Map.entry("zdm.migrations.m.table", "orders"),
				Map.entry("zdm.migrations.m.columns.status.type", "text"),
				Map.entry("zdm.migrations.m.columns.status.default", "'new'"),
				Map.entry("zdm.migrations.m.indexes.orders_customer", "customer_id,created_at"),
				Map.entry("zdm.migrations.m.constraints.not-null[0]", "customer_id"),
				Map.entry("zdm.migrations.m.constraints.checks.orders_total_positive", "total >= 0"),
				Map.entry("zdm.migrations.m.constraints.foreign-keys.orders_customer_fk.columns", "customer_id"),
				Map.entry("zdm.migrations.m.constraints.foreign-keys.orders_customer_fk.references", "shop.customers"),
				Map.entry("zdm.migrations.m.constraints.unique.orders_number_key", "number"));
		ZdmProperties bound = new Binder(new MapConfigurationPropertySource(properties))
			.bind("zdm", ZdmProperties.class)
			.get();
		MigrationDefinition definition = MigrationDefinitions.from(bound).get(0);
		MigrationDefinition built = MigrationDefinition.builder("m")
			.table("orders")
			.column("status", "text", "'new'")
			.index("orders_customer", "customer_id", "created_at")
			.notNull("customer_id")
			.check("orders_total_positive", "total >= 0")
			.foreignKey("orders_customer_fk", java.util.List.of("customer_id"), "shop.customers", java.util.List.of())
			.unique("orders_number_key", "number")
			.build();
		DeclaredChanges declared = definition.declared();
		assertThat(declared).isEqualTo(built.declared());
		assertThat(declared.foreignKeys().get(0).references()).hasToString("shop.customers");
		assertThat(declared.notNull()).containsExactly(new SqlIdentifier("customer_id"));
		assertThat(definition.toBuilder().build().declared()).isEqualTo(declared);
		assertThat(MigrationDefinition.builder("n").table("orders").build().declared().isEmpty()).isTrue();
	}

}
