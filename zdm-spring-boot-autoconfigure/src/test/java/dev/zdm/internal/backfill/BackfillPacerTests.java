package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.backfill.ThrottleReason;
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
import static org.assertj.core.api.Assertions.within;
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
	void paceGrowsWhileTheWorkloadFeelsNothingAndBacksOffOnTwoReadingsOverTheBudget() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		BackfillPacer.Pace pace = pacer.nextPace(1000, 1000, took, probe(100, 100));
		for (int i = 0; i < 40; i++) {
			pace = pacer.nextPace(pace.batchSize(), pace.batchSize(),
					took.multipliedBy(pace.batchSize()).dividedBy(1000), probe(100, 105));
		}
		// 200 ms batches (the target batch duration) at 10 µs a row, no pause
		assertThat(pace.batchSize()).isEqualTo(20_000);
		assertThat(pace.pause()).isZero();
		assertThat(pace.reason()).isNull();
		assertThat(pace.heldBy()).isNull();
		assertThat(pace.pacedBy()).isNull();
		Duration batch = Duration.ofMillis(200);
		// one reading over the budget is not enough: it may be noise
		BackfillPacer.Pace once = pacer.nextPace(20_000, 20_000, batch, probe(100, 400));
		assertThat(once.reason()).isNull();
		assertThat(once.batchSize()).isEqualTo(20_000);
		BackfillPacer.Pace twice = pacer.nextPace(20_000, 20_000, batch, probe(100, 400));
		assertThat(twice.reason()).isEqualTo(ThrottleReason.TABLE_LATENCY);
		assertThat(twice.batchSize()).isEqualTo(10_000);
		assertThat(twice.pause()).isGreaterThanOrEqualTo(Duration.ofMillis(200));
		assertThat(twice.pacedBy()).startsWith("table-latency: a point read on users takes 0.400 ms against "
				+ "0.100 ms while the copy pauses (4.00x, at most 1.20x); batches of 10000 rows");
		BackfillPacer.Pace thrice = pacer.nextPace(10_000, 10_000, batch.dividedBy(2), probe(100, 400));
		assertThat(thrice.batchSize()).isEqualTo(5_000);
		assertThat(thrice.pause()).isGreaterThan(twice.pause());
		BackfillPacer.Pace calm = pacer.nextPace(5_000, 5_000, batch.dividedBy(4), probe(100, 100));
		assertThat(calm.reason()).isNull();
		assertThat(calm.pacedBy()).startsWith("speeding up again, the copy runs");
		// its pause is still time held back, under the signal that brought it down (the
		// throttle meter once counted a copy held to 3% of the time as held back 32%)
		assertThat(calm.heldBy()).isEqualTo(ThrottleReason.TABLE_LATENCY);
	}

	// an operator's run: minBatchSize 5000 beside maxRowsPerSecond 400 copied 5000 rows
	// at a time, then paused 12 s
	@Test
	void aCeilingBelowTheSmallestBatchStillKeepsEachBatchToASecondsWorthOfRows() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults()
			.toBuilder()
			.minBatchSize(5_000)
			.initialBatchSize(5_000)
			.maxBatchSize(10_000)
			.maxRowsPerSecond(400)
			.build(), List.of());
		BackfillPacer.Pace pace = pacer.nextPace(5_000, 5_000, Duration.ofMillis(40), null);
		assertThat(pace.batchSize()).isEqualTo(400);
		assertThat(pace.pause()).isBetween(Duration.ofMillis(900), Duration.ofSeconds(1));
		assertThat(pace.reason()).isEqualTo(ThrottleReason.ROWS_PER_SECOND);
	}

	@Test
	void applicationLatencyOverTheBudgetHoldsTheCopyBack() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults().toBuilder().maxLatencyIncrease(0.5).build(), List.of());
		BackfillImpact.Reading slower = new BackfillImpact.Reading(100_000, 100_000, 1_600_000, 1_000_000, null, null,
				Double.NaN);
		BackfillImpact.Reading muchSlower = new BackfillImpact.Reading(100_000, 100_000, 1_600_000, 1_000_000, null,
				null, Double.NaN);
		assertThat(pacer.nextPace(1000, 1000, Duration.ofMillis(10), slower).reason()).isNull();
		BackfillPacer.Pace pace = pacer.nextPace(1000, 1000, Duration.ofMillis(10), muchSlower);
		assertThat(pace.reason()).isEqualTo(ThrottleReason.APPLICATION_LATENCY);
		assertThat(pace.pacedBy()).contains("(1.60x, at most 1.50x)");
	}

	@Test
	void aBudgetChangedLiveIsTheOneThePaceSaysAndReadsAgainst() {
		BackfillSettings tight = BackfillSettings.defaults().toBuilder().maxLatencyIncrease(0.2).build();
		BackfillPacer pacer = pacer(tight, List.of());
		BackfillImpact.Reading slower = new BackfillImpact.Reading(100_000, 100_000, 2_000_000, 1_000_000, null, null,
				Double.NaN);
		pacer.nextPace(1000, 1000, Duration.ofMillis(10), slower);
		BackfillPacer.Pace backedOff = pacer.nextPace(1000, 1000, Duration.ofMillis(10), slower);
		assertThat(backedOff.reason()).isEqualTo(ThrottleReason.APPLICATION_LATENCY);
		assertThat(backedOff.pacedBy()).contains("(2.00x, at most 1.20x)");
		// an operator allows 400%: the same calls are within it, and the pace no longer
		// quotes the earlier bound
		pacer.tune(tight.toBuilder().maxLatencyIncrease(4.0).build());
		BackfillPacer.Pace tuned = pacer.nextPace(1000, 1000, Duration.ofMillis(10), slower);
		assertThat(tuned.reason()).isNull();
		assertThat(tuned.pacedBy()).startsWith("speeding up again, the copy runs ")
			.contains("after the latency budget was changed live to at most 5.00x (max-latency-increase)")
			.doesNotContain("1.20x");
		// and a reading over the new budget backs off against it
		BackfillImpact.Reading muchSlower = new BackfillImpact.Reading(100_000, 100_000, 6_000_000, 1_000_000, null,
				null, Double.NaN);
		pacer.nextPace(1000, 1000, Duration.ofMillis(10), muchSlower);
		assertThat(pacer.nextPace(1000, 1000, Duration.ofMillis(10), muchSlower).pacedBy())
			.contains("(6.00x, at most 5.00x)");
	}

	@Test
	void applicationCallsOverTheirBaselineByLessThanTheFiguresResolutionDoNotHoldTheCopyBack() {
		// HikariCP times a connection's usage in whole milliseconds: among 30 calls, one
		// that crosses into the next millisecond moves their mean by 33 us
		double noise = BackfillImpact.applicationNoise(30, 30);
		assertThat(noise).isCloseTo(4 * 1_000_000 / 30.0, within(1.0));
		assertThat(BackfillImpact.applicationNoise(5_000, 5_000)).isCloseTo(800, within(1.0));
		BackfillImpact.Reading quantized = new BackfillImpact.Reading(100_000, 100_000, 80_000, 2_500, null, null, null,
				Double.NaN, noise);
		BackfillPacer calm = pacer(BackfillSettings.defaults(), List.of());
		for (int i = 0; i < 3; i++) {
			assertThat(calm.nextPace(1000, 1000, Duration.ofMillis(10), quantized).reason()).isNull();
		}
		// without the resolution taken into account the same means read 32x
		BackfillImpact.Reading unknownNoise = new BackfillImpact.Reading(100_000, 100_000, 80_000, 2_500, null, null,
				null, Double.NaN, Double.NaN);
		BackfillPacer fooled = pacer(BackfillSettings.defaults(), List.of());
		fooled.nextPace(1000, 1000, Duration.ofMillis(10), unknownNoise);
		assertThat(fooled.nextPace(1000, 1000, Duration.ofMillis(10), unknownNoise).reason())
			.isEqualTo(ThrottleReason.APPLICATION_LATENCY);
		// an excess beyond the noise still holds the copy back
		BackfillImpact.Reading slower = new BackfillImpact.Reading(100_000, 100_000, 900_000, 500_000, null, null, null,
				Double.NaN, noise);
		BackfillPacer held = pacer(BackfillSettings.defaults(), List.of());
		held.nextPace(1000, 1000, Duration.ofMillis(10), slower);
		assertThat(held.nextPace(1000, 1000, Duration.ofMillis(10), slower).reason())
			.isEqualTo(ThrottleReason.APPLICATION_LATENCY);
	}

	@Test
	void slowTailOfProbesBacksOffAtOnceAndHoldsThePaceUntilATailReadsCalm() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		// a workload beside the copy whose slow tail reads calm reading after reading
		// (14 of 1800 probes slow: 0.78%, more than the 0.75% of a copy it bears, but
		// 19 to 1 against 1.5%): the copy grows one step a reading from 2.5% of the time
		BackfillPacer.Pace pace = pacer.nextPace(1000, 1000, took, tails(40, 2, 1800, 14, 0.1));
		for (int i = 0; i < 20; i++) {
			pace = pacer.nextPace(pace.batchSize(), pace.batchSize(),
					took.multipliedBy(pace.batchSize()).dividedBy(1000), tails(40, 2, 1800, 14, 0.1));
		}
		assertThat(pace.batchSize()).isEqualTo(20_000);
		assertThat(pace.pause()).isPositive();
		Duration batch = Duration.ofMillis(200);
		// 12 of 40 probes slower than the baseline's slowest 5% with the budget, while
		// other sessions are busy a tenth of the time: one reading is enough, as it
		// already counts 40 probes against chance (at most 12% by chance: 5% and two
		// standard deviations)
		BackfillPacer.Pace slow = pacer.nextPace(20_000, 20_000, batch, tail(40, 12, 0.1));
		assertThat(slow.reason()).isEqualTo(ThrottleReason.TABLE_LATENCY);
		assertThat(slow.batchSize()).isEqualTo(10_000);
		assertThat(slow.pause()).isGreaterThan(pace.pause());
		assertThat(slow.pacedBy()).startsWith("table-latency: 30% of 40 point reads on users taken at any moment of "
				+ "the copy took longer than 0.170 ms (the slowest 5% while the copy pauses, 1.20x), at most 12% by "
				+ "chance; other sessions busy 10% of the time");
		// no tail read after it (too few probes yet): the copy keeps its pace
		BackfillPacer.Pace held = pacer.nextPace(10_000, 10_000, batch.dividedBy(2), probe(100, 100));
		assertThat(held.reason()).isNull();
		assertThat(held.batchSize()).isEqualTo(10_000);
		// the same share of time: half the batch time, half the pause
		assertThat(held.pause()).isBetween(slow.pause().dividedBy(2).minusMillis(1),
				slow.pause().dividedBy(2).plusMillis(1));
		// a tail between calm (5% and one standard deviation, 8%) and over keeps the pace
		BackfillPacer.Pace between = pacer.nextPace(10_000, 10_000, batch.dividedBy(2), tail(40, 4, 0.1));
		assertThat(between.reason()).isNull();
		assertThat(between.batchSize()).isEqualTo(10_000);
		assertThat(between.pause()).isEqualTo(held.pause());
		// a tail within chance, but no reading of the slow tail yet: still the same pace
		BackfillPacer.Pace calmTail = pacer.nextPace(10_000, 10_000, batch.dividedBy(2), tail(40, 2, 0.1));
		assertThat(calmTail.reason()).isNull();
		assertThat(calmTail.batchSize()).isEqualTo(10_000);
		assertThat(calmTail.pause()).isEqualTo(held.pause());
		// both within chance let it speed up again
		BackfillPacer.Pace calm = pacer.nextPace(10_000, 10_000, batch.dividedBy(2), tails(40, 2, 1000, 3, 0.1));
		assertThat(calm.reason()).isNull();
		assertThat(calm.batchSize()).isEqualTo(15_000);
		assertThat(calm.pause()).isLessThan(slow.pause());
	}

	@Test
	void slowTailOfProbesWithoutAWorkloadDoesNotHoldTheCopyBack() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		// every probe slow, but other sessions are busy 1% of the time: no one feels the
		// copy but the probe itself
		BackfillPacer.Pace pace = pacer.nextPace(1000, 1000, Duration.ofMillis(10), tail(40, 40, 0.01));
		// it goes to full pace: 200 ms batches (the target batch duration) at 10 µs a row
		assertThat(pace.reason()).isNull();
		assertThat(pace.batchSize()).isEqualTo(20_000);
		assertThat(pace.pause()).isZero();
	}

	@Test
	void withoutAWorkloadTheCopyRunsAllTheTimeAtOnce() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		// a calm tail while other sessions are busy a tenth of the time: one step up
		BackfillPacer.Pace stepped = pacer.nextPace(1000, 1000, took, tail(40, 2, 0.1));
		assertThat(stepped.pause()).isGreaterThan(Duration.ofMillis(5));
		// no other session busy and no application calls: all the time from now on, and
		// batches of the target duration at once (200 ms at 10 µs a row)
		BackfillPacer.Pace idle = pacer.nextPace(1000, 1000, took, tail(40, 2, 0.0));
		assertThat(idle.reason()).isNull();
		assertThat(idle.pause()).isZero();
		assertThat(idle.batchSize()).isEqualTo(20_000);
		// then a workload appears and feels the copy: it backs off to the least share at
		// once, 10 ms batches (1000 rows) after a pause of throttle-check-interval, the
		// longest
		BackfillPacer.Pace busy = pacer.nextPace(20_000, 20_000, took.multipliedBy(20), tail(40, 12, 0.1));
		assertThat(busy.reason()).isEqualTo(ThrottleReason.TABLE_LATENCY);
		assertThat(busy.pause()).isEqualTo(Duration.ofSeconds(1));
		assertThat(busy.batchSize()).isEqualTo(1000);
	}

	@Test
	void aWorkloadAppearingCutsTheCopyToTheShareThatLeftItsP99AloneAndOnlyACalmSlowTailLetsItGrow() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		// other sessions busy a tenth of the time, nothing over: 2.5% of the time, so
		// 10 ms batches are followed by 390 ms pauses
		BackfillPacer.Pace started = pacer.nextPace(1000, 1000, took, tail(40, 2, 0.1));
		assertThat(started.reason()).isNull();
		assertThat(started.pause()).isEqualTo(Duration.ofMillis(390));
		assertThat(started.heldBy()).isEqualTo(ThrottleReason.TABLE_LATENCY);
		assertThat(started.pacedBy()).contains("a workload runs beside the copy (other sessions busy 10% of the "
				+ "time): it starts at 2.5% of the time");
		// calm tails of a few dozen probes do not see a p99: the pace holds
		BackfillPacer.Pace held = pacer.nextPace(1000, 1000, took, tail(40, 2, 0.1));
		assertThat(held.pause()).isEqualTo(started.pause());
		// 3 of 500 probes over the paused probes' slowest 1% with the budget: too few to
		// tell a copy that slows 0.75% of them from one that slows 1.5%, the pace holds
		BackfillPacer.Pace untold = pacer.nextPace(1000, 1000, took, tails(40, 2, 500, 3, 0.1));
		assertThat(untold.reason()).isNull();
		assertThat(untold.pause()).isEqualTo(started.pause());
		// 3 of 1000: calm (19 to 1 for 0.75% against 1.5%), one step up to 5% of the time
		BackfillPacer.Pace grown = pacer.nextPace(1000, 1000, took, tails(40, 2, 1000, 3, 0.1));
		assertThat(grown.reason()).isNull();
		assertThat(grown.pause()).isEqualTo(Duration.ofMillis(190));
		// 12 of 500 (2.4%: 19 to 1 for 1.5% against 0.75%): one reading backs off
		BackfillPacer.Pace over = pacer.nextPace(1000, 1000, took, tails(40, 2, 500, 12, 0.1));
		assertThat(over.reason()).isEqualTo(ThrottleReason.TABLE_LATENCY);
		assertThat(over.pause()).isEqualTo(Duration.ofMillis(390));
		assertThat(over.pacedBy()).startsWith("table-latency: 2.4% of the last 500 point reads on users took longer "
				+ "than 0.300 ms (the slowest 1% while the copy pauses, 1.20x): at least 19 to 1 that the copy "
				+ "slows 1.5% of them rather than 0.75%; other sessions busy 10% of the time");
		// no more slow probes than a copy the workload bears: half as much again each
		// reading
		// (at least one step), 5%, 7.5%, then 11.25% of the time
		BackfillPacer.Pace faster = over;
		for (int i = 0; i < 3; i++) {
			faster = pacer.nextPace(1000, 1000, took, tails(40, 2, 500, 0, 0.1));
		}
		assertThat(faster.pause()).isBetween(Duration.ofMillis(78), Duration.ofMillis(80));
		// calm, with more slow probes than that: one step, 13.75%
		BackfillPacer.Pace step = pacer.nextPace(1000, 1000, took, tails(40, 2, 1800, 14, 0.1));
		assertThat(step.pause()).isBetween(Duration.ofMillis(62), Duration.ofMillis(64));
		// a minute's probes at the share where the two break even (65 of 6000, 1.08%):
		// neither over nor calm, the pace holds
		BackfillPacer.Pace even = pacer.nextPace(1000, 1000, took, tails(40, 2, 6000, 65, 0.1));
		assertThat(even.reason()).isNull();
		assertThat(even.pause()).isEqualTo(step.pause());
	}

	// an outside run read "speeding up again" while the tail read 112x its budget and
	// the pace stayed where it was
	@Test
	void aPaceKeptWhereItIsByATailNotCalmSaysItHoldsNotThatItSpeedsUp() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		assertThat(pacer.nextPace(1000, 1000, took, tail(40, 12, 0.1)).reason())
			.isEqualTo(ThrottleReason.TABLE_LATENCY);
		// a tenth of the probes slow: neither calm nor over, the pace stays
		BackfillPacer.Pace held = pacer.nextPace(1000, 1000, took, tail(40, 4, 0.1));
		assertThat(held.reason()).isNull();
		assertThat(held.pacedBy()).startsWith("holding, the copy runs 3% of the time while the workload's reads are "
				+ "not calm, after table-latency: ");
		// calm again: it says it speeds up
		assertThat(pacer.nextPace(1000, 1000, took, tail(40, 1, 0.1)).pacedBy()).startsWith("speeding up again");
	}

	@Test
	void withoutAWorkloadASlowerProbeDoesNotHoldTheCopyBack() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		// the probe between batches four times its baseline, twice in a row, but no other
		// session busy: it slows no one but itself, full pace
		BackfillPacer.Pace once = pacer.nextPace(1000, 1000, took, probe(100, 400, 0.0));
		BackfillPacer.Pace twice = pacer.nextPace(once.batchSize(), once.batchSize(),
				took.multipliedBy(once.batchSize()).dividedBy(1000), probe(100, 400, 0.0));
		assertThat(twice.reason()).isNull();
		assertThat(twice.pause()).isZero();
		assertThat(twice.batchSize()).isEqualTo(20_000);
		// the same readings with other sessions busy a tenth of the time hold it back
		BackfillPacer busy = pacer(BackfillSettings.defaults(), List.of());
		busy.nextPace(1000, 1000, took, probe(100, 400, 0.1));
		BackfillPacer.Pace held = busy.nextPace(1000, 1000, took, probe(100, 400, 0.1));
		assertThat(held.reason()).isEqualTo(ThrottleReason.TABLE_LATENCY);
		assertThat(held.pause()).isGreaterThan(Duration.ofMillis(5));
	}

	@Test
	void withoutAWorkloadTheSlowTailDoesNotHoldTheCopyBack() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		// a fifth of the probes slow, but other sessions busy 1% of the time: full pace
		BackfillPacer.Pace pace = pacer.nextPace(1000, 1000, Duration.ofMillis(10), tails(40, 2, 500, 100, 0.01));
		assertThat(pace.reason()).isNull();
		assertThat(pace.pause()).isZero();
		assertThat(pace.batchSize()).isEqualTo(20_000);
	}

	@Test
	void beforeTheFirstTailTheSamplersChecksTellThatNoOneIsThere() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults(), List.of());
		Duration took = Duration.ofMillis(10);
		// no tail yet (too few probes of the copy), no sampler checks yet either: a step
		BackfillPacer.Pace unknown = pacer.nextPace(1000, 1000, took, beforeTail(Double.NaN));
		assertThat(unknown.pause()).isGreaterThan(Duration.ofMillis(5));
		assertThat(unknown.batchSize()).isEqualTo(2000);
		// the checks so far found another session busy a tenth of the time: a step
		BackfillPacer.Pace busy = pacer.nextPace(1000, 1000, took, beforeTail(0.1));
		assertThat(busy.pause()).isGreaterThan(Duration.ofMillis(5));
		// they found no one: full pace
		BackfillPacer.Pace idle = pacer.nextPace(1000, 1000, took, beforeTail(0.0));
		assertThat(idle.pause()).isZero();
		assertThat(idle.batchSize()).isEqualTo(20_000);
	}

	@Test
	void rowsPerSecondCeilingLengthensThePause() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults().toBuilder().maxRowsPerSecond(1000).build(), List.of());
		// 20 µs a row: the next batch would take 30 ms, 1500 rows, over the ceiling
		BackfillPacer.Pace pace = pacer.nextPace(1000, 1000, Duration.ofMillis(20), probe(100, 100));
		assertThat(pace.batchSize()).isEqualTo(1000);
		// 1000 rows take 20 ms, so a second's worth of rows leaves 980 ms to pause
		assertThat(pace.pause()).isBetween(Duration.ofMillis(979), Duration.ofMillis(981));
		assertThat(pace.reason()).isEqualTo(ThrottleReason.ROWS_PER_SECOND);
	}

	// a CI run on a busy machine: one batch slowed by the machine, the next quick, and
	// the copy ran 7% over its ceiling
	@Test
	void aSlowBatchsRowsAreSpentAtTheCeilingBeforeTheNextStarts() {
		BackfillPacer pacer = pacer(BackfillSettings.defaults().toBuilder().maxRowsPerSecond(1000).build(), List.of());
		// 500 rows took 400 ms: the next batch is sized to the target duration at that
		// speed, far fewer rows, and its own second's share leaves a short pause
		BackfillPacer.Pace pace = pacer.nextPace(500, 500, Duration.ofMillis(400), beforeTail(0.0));
		assertThat(pace.batchSize()).isLessThan(500);
		// the 500 rows at 1000 rows/s take 500 ms, of which the batch took 400
		assertThat(pace.pause()).isBetween(Duration.ofMillis(99), Duration.ofMillis(101));
		assertThat(pace.reason()).isEqualTo(ThrottleReason.ROWS_PER_SECOND);
	}

	@Test
	void withoutPacingKeepsTheFixedPauseAndReadsNothing() {
		BackfillSettings settings = BackfillSettings.defaults().withoutPacing();
		BackfillPacer pacer = pacer(settings, List.of());
		assertThat(pacer.isPacing()).isFalse();
		BackfillPacer.Pace pace = pacer.nextPace(50_000, 50_000, Duration.ofMillis(100), null);
		assertThat(pace.batchSize()).isEqualTo(50_000);
		assertThat(pace.pause()).isZero();
		assertThat(pace.reason()).isNull();
		assertThat(pace.pacedBy()).isNull();
	}

	@Test
	void aFixedPauseThatHoldsTheCopySaysSoInsteadOfFullPace() {
		// the fixed pace docs/backfill.md offers for a p99 that matters more than speed:
		// no workload, so the pacing would run all the time, but the pause setting holds
		BackfillSettings fixed = BackfillSettings.defaults()
			.toBuilder()
			.targetBatchDuration(Duration.ofMillis(5))
			.pause(Duration.ofMillis(200))
			.build();
		BackfillPacer.Pace pace = pacer(fixed, List.of()).nextPace(1000, 1000, Duration.ofMillis(5), tail(40, 2, 0.0));
		assertThat(pace.reason()).isNull();
		assertThat(pace.pause()).isEqualTo(Duration.ofMillis(200));
		// a pause the user chose holds nothing back
		assertThat(pace.heldBy()).isNull();
		assertThat(pace.pacedBy())
			.isEqualTo("the pause setting: at least 200 ms between batches; batches of 1000 " + "rows, 200 ms pause");
		// the same with pacing off
		BackfillPacer.Pace unpaced = pacer(fixed.toBuilder().maxLatencyIncrease(Double.POSITIVE_INFINITY).build(),
				List.of())
			.nextPace(1000, 1000, Duration.ofMillis(5), null);
		assertThat(unpaced.pacedBy()).startsWith("the pause setting: at least 200 ms between batches");
	}

	@Test
	void aPauseSettingLongerThanTheThrottleCheckIntervalIsKeptWithPacingOn() {
		// the interval bounds the pause the pacing adds, not the one the user asked for
		BackfillSettings slow = BackfillSettings.defaults().toBuilder().pause(Duration.ofSeconds(3)).build();
		BackfillPacer.Pace pace = pacer(slow, List.of()).nextPace(1000, 1000, Duration.ofMillis(5), tail(40, 2, 0.0));
		assertThat(pace.pause()).isEqualTo(Duration.ofSeconds(3));
		assertThat(pace.pacedBy()).startsWith("the pause setting: at least 3000 ms between batches");
	}

	private static BackfillImpact.Reading tail(int probes, int slow, double busyShare) {
		return new BackfillImpact.Reading(100_000, 100_000, Double.NaN, Double.NaN, null,
				new Tail(probes, slow, 170_000, busyShare), busyShare);
	}

	private static BackfillImpact.Reading tails(int probes, int slow, int slowTailProbes, int slowTailSlow,
			double busyShare) {
		return new BackfillImpact.Reading(100_000, 100_000, Double.NaN, Double.NaN, null,
				new Tail(probes, slow, 170_000, busyShare),
				new SlowTail(slowTailProbes, slowTailSlow, 300_000, busyShare), busyShare);
	}

	private static BackfillImpact.Reading beforeTail(double busyShare) {
		return new BackfillImpact.Reading(100_000, 100_000, Double.NaN, Double.NaN, null, null, busyShare);
	}

	private static BackfillImpact.Reading probe(long baselineMicros, long probeMicros) {
		return probe(baselineMicros, probeMicros, Double.NaN);
	}

	private static BackfillImpact.Reading probe(long baselineMicros, long probeMicros, double busyShare) {
		return new BackfillImpact.Reading(probeMicros * 1000, baselineMicros * 1000, Double.NaN, Double.NaN, null, null,
				busyShare);
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
