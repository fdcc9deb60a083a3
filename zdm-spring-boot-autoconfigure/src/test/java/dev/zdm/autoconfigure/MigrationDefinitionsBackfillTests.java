package dev.zdm.autoconfigure;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.util.unit.DataSize;

import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.TimeWindow;
import dev.zdm.migration.ZdmConfigurationException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for the mapping of {@code zdm.migrations.<id>.backfill.*} in
 * {@link MigrationDefinitions}.
 */
@Tag("no-database")
class MigrationDefinitionsBackfillTests {

	@Test
	void backfillDefaultsMatchSettingsDefaults() {
		assertThat(MigrationDefinitions.from("users-email", migration()).backfill())
			.isEqualTo(BackfillSettings.defaults());
	}

	@Test
	void backfillPropertiesAreMapped() {
		ZdmMigrationProperties properties = migration();
		ZdmBackfillProperties backfill = properties.getBackfill();
		backfill.setMaxBatchSize(20_000);
		backfill.setPause(Duration.ofMillis(250));
		backfill.setTimeWindows(List.of("22:00-06:00"));
		backfill.setTimeZone("Europe/Paris");
		backfill.setVacuumEveryRows(0);
		MigrationDefinition definition = MigrationDefinitions.from("users-email", properties);
		assertThat(definition.backfill().maxBatchSize()).isEqualTo(20_000);
		assertThat(definition.backfill().pause()).isEqualTo(Duration.ofMillis(250));
		assertThat(definition.backfill().timeWindows())
			.containsExactly(new TimeWindow(LocalTime.of(22, 0), LocalTime.of(6, 0)));
		assertThat(definition.backfill().timeZone()).isEqualTo(ZoneId.of("Europe/Paris"));
		assertThat(definition.backfill().vacuumEveryRows()).isZero();
		assertThat(definition.toBuilder().build().backfill()).isEqualTo(definition.backfill());
	}

	@Test
	void aSmallerMaxBatchSizeAloneIsAcceptedAndBoundsTheFirstBatch() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setMaxBatchSize(500);
		ZdmSettings.checkBackfill("users-email", "zdm.migrations.users-email.backfill.", properties.getBackfill());
		assertThat(MigrationDefinitions.from("users-email", properties).backfill().initialBatchSize()).isEqualTo(500);
	}

	@Test
	void latencyBudgetAndRowsCeilingAreMapped() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setMaxLatencyIncrease("35%");
		properties.getBackfill().setMaxRowsPerSecond(5_000);
		BackfillSettings settings = MigrationDefinitions.from("users-email", properties).backfill();
		assertThat(settings.maxLatencyIncrease()).isEqualTo(0.35);
		assertThat(settings.maxRowsPerSecond()).isEqualTo(5_000);
		properties.getBackfill().setMaxLatencyIncrease("0.5");
		assertThat(MigrationDefinitions.from("users-email", properties).backfill().maxLatencyIncrease()).isEqualTo(0.5);
	}

	@Test
	void walCeilingsAreMapped() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setMaxWalArchiveBacklog(10);
		properties.getBackfill().setMaxWalRate(DataSize.parse("64MB"));
		BackfillSettings settings = MigrationDefinitions.from("users-email", properties).backfill();
		assertThat(settings.maxWalArchiveBacklog()).isEqualTo(10);
		assertThat(settings.maxWalRate()).isEqualTo(64L * 1024 * 1024);
		properties.getBackfill().setMaxWalArchiveBacklog(-1);
		assertThat(MigrationDefinitions.from("users-email", properties).backfill().maxWalArchiveBacklog())
			.as("off, as 0")
			.isEqualTo(-1);
	}

	@Test
	void negativeWalRateIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setMaxWalRate(DataSize.ofKilobytes(-1));
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> MigrationDefinitions.from("users-email", properties))
			.withMessageContaining("zdm.migrations.users-email.backfill.max-wal-rate is -1024B")
			.satisfies((ex) -> assertThat(ex.getAction()).contains("for example 64MB"));
	}

	@Test
	void targetBatchDurationAsLongAsTheStatementTimeoutIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setTargetBatchDuration(Duration.ofSeconds(30));
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> MigrationDefinitions.from("users-email", properties))
			.withMessageContaining("zdm.migrations.users-email.backfill.target-batch-duration is PT30S")
			.satisfies((ex) -> assertThat(ex.getAction())
				.contains("less than zdm.migrations.users-email.backfill.statement-timeout (PT10S)"));
	}

	@Test
	void latencyBudgetThatIsNotAPercentageIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setMaxLatencyIncrease("fast");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> ZdmSettings.checkBackfill("users-email", "zdm.migrations.users-email.backfill.",
					properties.getBackfill()))
			.withMessageContaining(
					"zdm.migrations.users-email.backfill.max-latency-increase is 'fast', which is not a percentage")
			.satisfies((ex) -> assertThat(ex.getAction()).contains("for example 20%"));
		properties.getBackfill().setMaxLatencyIncrease("0%");
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(() -> ZdmSettings
			.checkBackfill("users-email", "zdm.migrations.users-email.backfill.", properties.getBackfill()));
		// a bare number is a fraction: 150 would be 15000%
		properties.getBackfill().setMaxLatencyIncrease("150");
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> ZdmSettings.checkBackfill("users-email", "zdm.migrations.users-email.backfill.",
					properties.getBackfill()))
			.satisfies((ex) -> assertThat(ex.getAction()).contains("a number without % is a fraction: 0.2 is 20%"));
	}

	@Test
	void invalidTimeWindowIsRefused() {
		ZdmMigrationProperties properties = migration();
		properties.getBackfill().setTimeWindows(List.of("night"));
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> MigrationDefinitions.from("users-email", properties))
			.satisfies((ex) -> assertThat(ex.getAction()).contains("zdm.migrations.users-email.backfill."));
	}

	private static ZdmMigrationProperties migration() {
		ZdmMigrationProperties migration = new ZdmMigrationProperties();
		migration.setTable("users");
		migration.setPhase("backfill");
		return migration;
	}

}
