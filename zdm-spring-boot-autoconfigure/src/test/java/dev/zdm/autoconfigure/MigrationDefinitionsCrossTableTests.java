package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for the mapping of a cross-table declaration ({@code target-table},
 * {@code target-key}) and the verification settings in {@link MigrationDefinitions}.
 */
@Tag("no-database")
class MigrationDefinitionsCrossTableTests {

	@Test
	void crossTableDeclarationIsMapped() {
		ZdmMigrationProperties properties = migration();
		properties.setTargetKey(List.of("customer_id"));
		MigrationDefinition definition = MigrationDefinitions.from("customers-address", properties);
		assertThat(definition.isCrossTable()).isTrue();
		assertThat(definition.targetTable()).hasToString("customer_addresses");
		assertThat(definition.targetKey().name()).isEqualTo("customer_id");
		assertThat(definition.sync()).isEqualTo(SyncMode.REPOSITORIES);
		assertThat(definition.hasBackfill()).isTrue();
		assertThat(definition.toBuilder().build().targetTable()).isEqualTo(definition.targetTable());
	}

	@Test
	void targetKeyDefaultsToTheSourceKeyName() {
		ZdmMigrationProperties properties = migration();
		properties.setKey(java.util.List.of("id"));
		assertThat(MigrationDefinitions.from("customers-address", properties).targetKey().name()).isEqualTo("id");
	}

	@Test
	void syncTriggerIsRefusedForACrossTableMigration() {
		ZdmMigrationProperties properties = migration();
		properties.setSync("trigger");
		assertRefused(properties, "sync: trigger is not supported for a migration into another table",
				"Remove zdm.migrations.customers-address.sync");
	}

	@Test
	void crossTableMigrationWithoutUpIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.getUp().clear();
		assertRefused(properties, "no up expressions are declared for the target table customer_addresses",
				"zdm.migrations.customers-address.up");
	}

	@Test
	void targetKeyWithoutTargetTableIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.setTargetTable(null);
		properties.setTargetKey(List.of("customer_id"));
		assertRefused(properties, "target-key is set but no target table is", "target-table");
	}

	@Test
	void invalidTargetTableIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.setTargetTable("customer addresses");
		assertRefused(properties,
				"'customer addresses' in zdm.migrations.customers-address.target-table is not a valid",
				"Use the name as the catalog stores it");
	}

	@Test
	void verificationSettingsAreMapped() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setVerificationBatchSize(2_000);
		properties.getBackfill().setVerificationPause(Duration.ofMillis(5));
		MigrationDefinition definition = MigrationDefinitions.from("customers-address", properties);
		assertThat(definition.backfill().verificationBatchSize()).isEqualTo(2_000);
		assertThat(definition.backfill().verificationPause()).isEqualTo(Duration.ofMillis(5));
	}

	private static void assertRefused(ZdmMigrationProperties properties, String description, String action) {
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> MigrationDefinitions.from("customers-address", properties))
			.satisfies((ex) -> {
				assertThat(ex.getDescription()).contains(description);
				assertThat(ex.getAction()).contains(action);
			});
	}

	private static ZdmMigrationProperties migration() {
		ZdmMigrationProperties migration = new ZdmMigrationProperties();
		migration.setTable("customers");
		migration.setTargetTable("customer_addresses");
		migration.setPhase("expand");
		migration.getUp().put("street", "address_street");
		migration.getUp().put("city", "address_city");
		return migration;
	}

}
