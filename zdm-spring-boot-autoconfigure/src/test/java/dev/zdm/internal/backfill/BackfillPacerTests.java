package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.TimeWindow;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.BackfillFixtures;
import dev.zdm.testing.TestEngine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link BackfillPacer}, {@link TimeWindow} and the backfill's checks of a
 * declaration.
 */
class BackfillPacerTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void batchSizeAdaptsTowardsTargetDurationWithinBounds() {
		BackfillPacer pacer = pacer(BackfillFixtures.settings(1000, 100, 4000, Duration.ZERO), List.of());
		// the target is 50 ms
		assertThat(pacer.nextBatchSize(1000, Duration.ofMillis(25))).isEqualTo(2000);
		assertThat(pacer.nextBatchSize(1000, Duration.ofMillis(5))).isEqualTo(2000);
		assertThat(pacer.nextBatchSize(1000, Duration.ofMillis(100))).isEqualTo(500);
		assertThat(pacer.nextBatchSize(1000, Duration.ofSeconds(5))).isEqualTo(500);
		assertThat(pacer.nextBatchSize(3000, Duration.ofMillis(10))).isEqualTo(4000);
		assertThat(pacer.nextBatchSize(150, Duration.ofSeconds(1))).isEqualTo(100);
	}

	@Test
	void holdsBackOutsideTimeWindows() {
		LocalTime now = LocalTime.now(ZoneId.of("UTC"));
		TimeWindow later = new TimeWindow(now.plusHours(2), now.plusHours(3));
		TimeWindow current = new TimeWindow(now.minusHours(1), now.plusHours(1));
		assertThat(pacer(windows(List.of(later)), List.of()).holdBackReason())
			.contains("outside the allowed time windows");
		assertThat(pacer(windows(List.of(later, current)), List.of()).holdBackReason()).isNull();
	}

	@Test
	void holdsBackWhileAThrottleSaysSo() {
		BackfillThrottle lagging = (migration) -> "replica lag of 12s on " + migration.table();
		assertThat(pacer(windows(List.of()), List.of(lagging)).holdBackReason())
			.isEqualTo("replica lag of 12s on users");
	}

	@Test
	void timeWindowsWrapPastMidnight() {
		TimeWindow night = TimeWindow.parse("22:00-06:00");
		assertThat(night.contains(LocalTime.of(23, 0))).isTrue();
		assertThat(night.contains(LocalTime.of(5, 59))).isTrue();
		assertThat(night.contains(LocalTime.of(6, 0))).isFalse();
		assertThat(night.contains(LocalTime.of(12, 0))).isFalse();
		assertThat(TimeWindow.parse("09:00-17:30").contains(LocalTime.of(12, 0))).isTrue();
	}

	@Test
	void compositeKeyIsRefused() {
		MigrationDefinition migration = MigrationDefinition.builder("pairs")
			.requestedPhase(Phase.BACKFILL)
			.table("pairs")
			.key("a", "b")
			.up("c", "a + b")
			.build();
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> TestEngine.backfillParticipant(postgres.dataSource(), Duration.ofSeconds(30), List.of())
				.validate(migration, MigrationState.initial("pairs")))
			.withMessageContaining("single-column key");
	}

	private static BackfillSettings windows(List<TimeWindow> windows) {
		return BackfillSettings.defaults()
			.withoutPacing()
			.toBuilder()
			.batchSizes(100, 100, 100)
			.timeWindows(windows)
			.timeZone(ZoneId.of("UTC"))
			.vacuumEveryRows(0)
			.verificationPasses(3)
			.verificationBatchSize(BackfillSettings.defaults().verificationBatchSize())
			.verificationPause(BackfillSettings.defaults().verificationPause())
			.maxReplicationLag(BackfillSettings.DEFAULT_MAX_REPLICATION_LAG)
			.build();
	}

	private static BackfillPacer pacer(BackfillSettings settings, List<BackfillThrottle> throttles) {
		MigrationDefinition migration = MigrationDefinition.builder("users")
			.table("users")
			.key("id")
			.up("email_address", "lower(email)")
			.backfill(settings)
			.build();
		return new BackfillPacer(migration, settings, new LockInspector(postgres.dataSource()), throttles);
	}

}
