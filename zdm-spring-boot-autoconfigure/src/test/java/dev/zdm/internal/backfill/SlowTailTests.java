package dev.zdm.internal.backfill;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link SlowTail}: the sequential test that tells a copy the workload's p99
 * bears (0.75% of the probes over the line) from one it feels (1.5%).
 */
@Tag("no-database")
class SlowTailTests {

	private static final double BUSY = 0.1;

	@Test
	void aCopyThatSlowsManyProbesReadsOverWithinASecondsProbes() {
		// 6 of 100 (6%): 19 to 1 for 1.5% long before a fixed reading of 500 would tell
		SlowTail tail = slowTail(100, 6);
		assertThat(tail.over()).isTrue();
		assertThat(tail.calm()).isFalse();
		// 5 of 100: not yet
		assertThat(slowTail(100, 5).over()).isFalse();
	}

	@Test
	void noSlowProbesReadCalmOnlyOnceThereAreEnoughOfThem() {
		// with none slow, 389 probes hold the odds of 19 to 1 for 0.75%, 300 do not
		assertThat(slowTail(300, 0).calm()).isFalse();
		assertThat(slowTail(400, 0).calm()).isTrue();
		assertThat(slowTail(400, 0).untouched()).isTrue();
	}

	@Test
	void theShareThatDoublesAWorkloadsP99ReadsOverWhereAFixedReadingOfFiveHundredOftenReadCalm() {
		// 1.7% of the probes over the line: what a copy running a tenth of the time
		// beside
		// issue 21's pgbench workload made of them, doubling its p99. A reading of a
		// fixed
		// 500 probes read calm at 1.4% or less (7 of 500), about two times in five; this
		// test waits for more of them and reads over
		assertThat(slowTail(500, 7).calm()).isFalse();
		assertThat(slowTail(500, 7).over()).isFalse();
		assertThat(slowTail(1000, 17).over()).isTrue();
	}

	@Test
	void betweenTheTwoSharesNeitherIsToldAndTheReadingKeepsThePace() {
		// 1.08%, where the two shares break even: a minute's probes tell neither
		SlowTail even = slowTail(6000, 65);
		assertThat(even.over()).isFalse();
		assertThat(even.calm()).isFalse();
		// calm, but with more slow probes than a copy the workload bears: one step only
		SlowTail calm = slowTail(1800, 14);
		assertThat(calm.calm()).isTrue();
		assertThat(calm.untouched()).isFalse();
	}

	@Test
	void withoutAWorkloadNothingIsOverAndEverythingCalm() {
		SlowTail alone = new SlowTail(100, 50, 300_000, 0.01);
		assertThat(alone.over()).isFalse();
		assertThat(alone.calm()).isTrue();
	}

	private static SlowTail slowTail(int probes, int slow) {
		return new SlowTail(probes, slow, 300_000, BUSY);
	}

}
