package dev.zdm.migration;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.TimeWindow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Tests for {@link BackfillSettings} and its builder.
 */
@Tag("no-database")
class BackfillSettingsTests {

	private static final BackfillSettings CUSTOM = BackfillSettings.builder()
		.enabled(false)
		.batchSizes(300, 200, 400)
		.targetBatchDuration(Duration.ofMillis(30))
		.pause(Duration.ofMillis(40))
		.lockTimeout(Duration.ofMillis(500))
		.statementTimeout(Duration.ofSeconds(6))
		.maxLockWaiters(7)
		.maxTransactionAge(Duration.ofMinutes(8))
		.throttleCheckInterval(Duration.ofMillis(900))
		.timeWindows(List.of(new TimeWindow(LocalTime.of(22, 0), LocalTime.of(6, 0))))
		.timeZone(ZoneId.of("Europe/Paris"))
		.vacuumEveryRows(11)
		.verificationPasses(12)
		.verificationBatchSize(13)
		.verificationPause(Duration.ofMillis(14))
		.maxReplicationLag(Duration.ofSeconds(15))
		.maxLatencyIncrease(0.16)
		.maxRowsPerSecond(17)
		.maxBatchAttempts(16)
		.failureBudget(17, 0.18)
		.maxWalArchiveBacklog(19)
		.maxWalRate(20)
		.build();

	@Test
	void builderSetsEachComponentByName() {
		assertThat(CUSTOM)
			.isEqualTo(new BackfillSettings(false, 300, 200, 400, Duration.ofMillis(30), Duration.ofMillis(40),
					Duration.ofMillis(500), Duration.ofSeconds(6), 7, Duration.ofMinutes(8), Duration.ofMillis(900),
					List.of(new TimeWindow(LocalTime.of(22, 0), LocalTime.of(6, 0))), ZoneId.of("Europe/Paris"), 11, 12,
					13, Duration.ofMillis(14), Duration.ofSeconds(15), 0.16, 17, 16, 17, 0.18, 19, 20));
	}

	@Test
	void toBuilderCopiesEveryComponent() {
		assertThat(CUSTOM.toBuilder().build()).isEqualTo(CUSTOM);
		assertThat(BackfillSettings.defaults().toBuilder().build()).isEqualTo(BackfillSettings.defaults());
	}

	@Test
	void withVerificationChangesOnlyTheVerificationBatches() {
		BackfillSettings changed = CUSTOM.withVerification(50, Duration.ofMillis(60));
		assertThat(changed.toBuilder().verificationBatchSize(13).verificationPause(Duration.ofMillis(14)).build())
			.isEqualTo(CUSTOM);
		assertThat(changed.verificationBatchSize()).isEqualTo(50);
		assertThat(changed.verificationPause()).isEqualTo(Duration.ofMillis(60));
	}

	@Test
	void withoutPacingRunsTheLargestBatchesWithoutPauseOrLoadChecks() {
		BackfillSettings unpaced = CUSTOM.withoutPacing();
		assertThat(unpaced.initialBatchSize()).isEqualTo(400);
		assertThat(unpaced.minBatchSize()).isEqualTo(400);
		assertThat(unpaced.pause()).isZero();
		assertThat(unpaced.maxLockWaiters()).isEqualTo(Integer.MAX_VALUE);
		assertThat(unpaced.maxTransactionAge()).isZero();
		assertThat(unpaced.maxReplicationLag()).isZero();
		assertThat(unpaced.maxWalArchiveBacklog()).isZero();
		assertThat(unpaced.maxWalRate()).isZero();
		assertThat(unpaced.timeWindows()).isEmpty();
		assertThat(unpaced.verificationBatchSize()).isEqualTo(400);
		assertThat(unpaced.lockTimeout()).isEqualTo(CUSTOM.lockTimeout());
	}

	@Test
	void walSignalsHaveTheirDefaultsAndANegativeRateIsRefused() {
		assertThat(BackfillSettings.defaults().maxWalArchiveBacklog())
			.isEqualTo(BackfillSettings.DEFAULT_MAX_WAL_ARCHIVE_BACKLOG);
		assertThat(BackfillSettings.defaults().maxWalRate()).isZero();
		assertThatIllegalArgumentException().isThrownBy(() -> BackfillSettings.builder().maxWalRate(-1).build())
			.withMessageContaining("WAL rate ceiling must be at least 0");
	}

	@Test
	void builderChecksBatchSizes() {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> BackfillSettings.builder().minBatchSize(500).maxBatchSize(100).build())
			.withMessageContaining("1 <= min (500) <= max (100)");
	}

}
