package dev.zdm.internal.backfill;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the busy share of {@link TailSampler}: whether a workload counts as present
 * beside the copy, from its checks of the other sessions of the database.
 */
@Tag("no-database")
class BusyShareTests {

	private final TailSampler sampler = new TailSampler(null, null, null);

	@Test
	void aStrayBusyCheckAmongTheFirstFewDozenIsNoWorkload() {
		// seen in CI: zdm's own start-up beside a copy was busy in 1 check of the first
		// 49, which read as 2.04%, a workload
		this.sampler.check(true);
		checks(48, false);
		assertThat(this.sampler.busyShare()).isLessThan(TailSampler.MIN_BUSY_SHARE);
		// and two in the first window of checks are not one either
		this.sampler.check(true);
		checks(60, false);
		assertThat(this.sampler.busyShare()).isLessThan(TailSampler.MIN_BUSY_SHARE);
	}

	@Test
	void aWorkloadBusyATenthOfTheTimeCountsWithinThirtyChecks() {
		assertThat(this.sampler.busyShare()).isNaN();
		for (int i = 1; i <= 30; i++) {
			this.sampler.check(i % 10 == 0);
			if (i >= TailSampler.MIN_BUSY_CHECKS && i < 30) {
				assertThat(this.sampler.busyShare()).as("after %d checks", i).isLessThan(TailSampler.MIN_BUSY_SHARE);
			}
		}
		assertThat(this.sampler.busyShare()).isGreaterThanOrEqualTo(TailSampler.MIN_BUSY_SHARE);
	}

	@Test
	void aWorkloadThatWasThereCountsAsGoneOnlyAfterFiveHundredQuietChecks() {
		for (int i = 0; i < 300; i++) {
			this.sampler.check(i % 5 == 0);
		}
		assertThat(this.sampler.busyShare()).isGreaterThanOrEqualTo(TailSampler.MIN_BUSY_SHARE);
		// 150 quiet checks: the last 3 seconds found none, the last 10 still hold it
		checks(150, false);
		assertThat(this.sampler.busyShare()).isGreaterThanOrEqualTo(TailSampler.MIN_BUSY_SHARE);
		checks(350, false);
		assertThat(this.sampler.busyShare()).isZero();
	}

	private void checks(int count, boolean busy) {
		for (int i = 0; i < count; i++) {
			this.sampler.check(busy);
		}
	}

}
