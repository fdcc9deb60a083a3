package dev.zdm.internal.backfill;

import java.time.Duration;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.util.unit.DataSize;

import dev.zdm.migration.BackfillSettings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Tests for {@link BackfillOverrides}: how live overrides merge over the declared
 * settings and which values they refuse.
 */
@Tag("no-database")
class BackfillOverridesTests {

	private final BackfillSettings declared = BackfillSettings.builder()
		.batchSizes(1000, 100, 5000)
		.pause(Duration.ofMillis(20))
		.build();

	@Test
	void overridesReplaceOnlyWhatTheySetAndALaterChangeKeepsEarlierOnes() {
		BackfillOverrides first = new BackfillOverrides(null, null, 2000, null, Duration.ofMillis(500), null, null,
				null, null, null, null, null);
		BackfillOverrides both = first
			.with(new BackfillOverrides(null, 200, null, null, null, 300L, 0.5, 3, Duration.ZERO, null, null, null));
		BackfillSettings merged = both.applyTo(this.declared);
		assertThat(merged.minBatchSize()).isEqualTo(200);
		assertThat(merged.maxBatchSize()).isEqualTo(2000);
		assertThat(merged.initialBatchSize()).isEqualTo(1000);
		assertThat(merged.pause()).isEqualTo(Duration.ofMillis(500));
		assertThat(merged.maxRowsPerSecond()).isEqualTo(300);
		assertThat(merged.maxLatencyIncrease()).isEqualTo(0.5);
		assertThat(merged.maxLockWaiters()).isEqualTo(3);
		assertThat(merged.maxTransactionAge()).isEqualTo(Duration.ZERO);
		assertThat(merged.maxReplicationLag()).isEqualTo(this.declared.maxReplicationLag());
		assertThat(merged.targetBatchDuration()).isEqualTo(this.declared.targetBatchDuration());
		assertThat(merged.lockTimeout()).isEqualTo(this.declared.lockTimeout());
		assertThat(both.describe()).isEqualTo("minBatchSize=200, maxBatchSize=2000, pause=500ms, maxRowsPerSecond=300, "
				+ "maxLatencyIncrease=50%, maxLockWaiters=3, maxTransactionAge=0ms");
		assertThat(BackfillOverrides.NONE.applyTo(this.declared)).isSameAs(this.declared);
		assertThat(BackfillOverrides.NONE.isEmpty()).isTrue();
		assertThat(BackfillOverrides.NONE.describe()).isEqualTo("none");
	}

	@Test
	void initialBatchSizeIsBroughtWithinTheMergedBounds() {
		BackfillSettings merged = new BackfillOverrides(null, 2000, 3000, null, null, null, null, null, null, null,
				null, null)
			.applyTo(this.declared);
		assertThat(merged.initialBatchSize()).isEqualTo(2000);
	}

	@Test
	void valuesOutOfRangeAreRefusedWithTheirNameAndRange() {
		assertThatIllegalArgumentException().isThrownBy(() -> overrides(0, null, null, null).applyTo(this.declared))
			.withMessage("minBatchSize is 0, which is out of range: set it to 1 or more");
		assertThatIllegalArgumentException().isThrownBy(() -> overrides(500, 400, null, null).check())
			.withMessage("maxBatchSize is 400, which is out of range: set it to at least minBatchSize (500)");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> overrides(null, null, Duration.ofMillis(-1), null).check())
			.withMessage("pause is -1ms, which is out of range: set it to a duration of 0 or more, for example 0s "
					+ "or 500ms");
		assertThatIllegalArgumentException().isThrownBy(() -> overrides(null, null, null, Duration.ZERO).check())
			.withMessageStartingWith("targetBatchDuration is 0ms, which is out of range");
		assertThatIllegalArgumentException()
			.isThrownBy(
					() -> new BackfillOverrides(null, null, null, null, null, -1L, null, null, null, null, null, null)
						.check())
			.withMessage("maxRowsPerSecond is -1, which is out of range: set it to 0 (no ceiling) or more");
		assertThatIllegalArgumentException()
			.isThrownBy(
					() -> new BackfillOverrides(null, null, null, null, null, null, 0.0, null, null, null, null, null)
						.check())
			.withMessageStartingWith("maxLatencyIncrease is 0%, which is out of range");
	}

	@Test
	void walCeilingsOverrideTheDeclaredOnesAndZeroTurnsThemOff() {
		BackfillOverrides ceilings = wal(8L, DataSize.ofMegabytes(64));
		BackfillSettings merged = ceilings.applyTo(this.declared);
		assertThat(merged.maxWalArchiveBacklog()).isEqualTo(8);
		assertThat(merged.maxWalRate()).isEqualTo(DataSize.ofMegabytes(64).toBytes());
		assertThat(merged.maxBatchSize()).isEqualTo(this.declared.maxBatchSize());
		assertThat(ceilings.describe()).isEqualTo("maxWalArchiveBacklog=8, maxWalRate=64MB");
		BackfillSettings off = ceilings.with(wal(0L, DataSize.ofBytes(0))).applyTo(this.declared);
		assertThat(off.maxWalArchiveBacklog()).isZero();
		assertThat(off.maxWalRate()).isZero();
		assertThat(ceilings.with(wal(null, DataSize.ofKilobytes(1536))).applyTo(this.declared))
			.satisfies((settings) -> assertThat(settings.maxWalArchiveBacklog()).isEqualTo(8))
			.satisfies((settings) -> assertThat(settings.maxWalRate()).isEqualTo(1536 * 1024));
		assertThat(BackfillOverrides.tunable(this.declared)).containsEntry("maxWalArchiveBacklog", 32L)
			.containsEntry("maxWalRate", DataSize.ofBytes(0));
		assertThat(BackfillOverrides.format(DataSize.ofKilobytes(1536))).isEqualTo("1536KB");
		assertThat(BackfillOverrides.format(DataSize.ofBytes(0))).isEqualTo("0B");
		assertThat(BackfillOverrides.format(DataSize.ofBytes(1000))).isEqualTo("1000B");
	}

	@Test
	void negativeWalCeilingsAreRefusedWithTheirNameAndRange() {
		assertThatIllegalArgumentException().isThrownBy(() -> wal(-1L, null).applyTo(this.declared))
			.withMessage("maxWalArchiveBacklog is -1, which is out of range: set it to 0 (never hold back for the "
					+ "archiver) or a number of WAL segments, for example 32");
		assertThatIllegalArgumentException().isThrownBy(() -> wal(null, DataSize.ofMegabytes(-2)).check())
			.withMessage("maxWalRate is -2MB, which is out of range: set it to 0 (no ceiling) or a size of WAL per "
					+ "second, for example \"64MB\"");
	}

	@Test
	void boundsThatDoNotFitTheDeclaredOnesAreRefused() {
		assertThatIllegalArgumentException().isThrownBy(() -> overrides(null, 50, null, null).applyTo(this.declared))
			.withMessageContaining("the batch sizes would be min 100 and max 50 (minBatchSize declared, "
					+ "maxBatchSize overridden): the max must be at least the min");
	}

	@Test
	void fingerprintIsTheSameForTheSameDeclarationOnly() {
		assertThat(BackfillOverrides.fingerprint(this.declared))
			.isEqualTo(BackfillOverrides.fingerprint(this.declared.toBuilder().build()))
			.hasSize(16)
			.isNotEqualTo(BackfillOverrides.fingerprint(this.declared.toBuilder().pause(Duration.ZERO).build()));
	}

	private static BackfillOverrides wal(Long maxWalArchiveBacklog, DataSize maxWalRate) {
		return new BackfillOverrides(null, null, null, null, null, null, null, null, null, null, maxWalArchiveBacklog,
				maxWalRate);
	}

	private static BackfillOverrides overrides(Integer min, Integer max, Duration pause, Duration target) {
		return new BackfillOverrides(null, min, max, target, pause, null, null, null, null, null, null, null);
	}

}
