package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Tests for {@link BackfillWalk}: its counters and when it asks for a progress line.
 */
@Tag("no-database")
class BackfillWalkTests {

	@Test
	void copyLogsAtEveryTenthOfTheRows() {
		BackfillWalk walk = BackfillWalk.copy("1000", null, 0, 0, 1000L, 50);
		List<String> lines = new ArrayList<>();
		for (int batch = 1; batch <= 20; batch++) {
			walk.advance(String.valueOf(batch * 50), 50, 40, 0);
			String line = walk.progressLine();
			if (line != null) {
				lines.add(line);
			}
		}
		assertThat(lines).hasSize(10);
		// two batches into the run: too soon for a rate
		assertThat(lines.get(0)).startsWith("backfill copied 100 of about 1000 rows (10%), no rate yet, ")
			.contains("80 rewritten");
		assertThat(lines.get(4)).startsWith("backfill copied 500 of about 1000 rows (50%) at ");
		assertThat(lines.get(9)).startsWith("backfill copied 1000 of about 1000 rows (100%)");
		assertThat(walk.rows()).isEqualTo(1000);
		assertThat(walk.changed()).isEqualTo(800);
		assertThat(walk.lastKey()).isEqualTo("1000");
	}

	@Test
	void aCopyPastTheEstimatedRowsSaysSoAndEstimatesNoTimeLeft() {
		// the table's statistics said 500 rows; it holds 1,000 (a user read "copied 13387
		// of about 5000 rows (100%), ETA PT0S" at 38% of the copy)
		BackfillWalk walk = BackfillWalk.copy("1000", null, 0, 0, 500L, 50);
		List<String> lines = new ArrayList<>();
		for (int batch = 1; batch <= 12; batch++) {
			walk.advance(String.valueOf(batch * 50), 50, 50, 0);
			String line = walk.progressLine();
			if (line != null) {
				lines.add(line);
			}
		}
		assertThat(lines.get(lines.size() - 1)).startsWith("backfill copied 600 rows, more than the table's "
				+ "statistics estimated (about 500; ANALYZE the table for a better estimate)");
		assertThat(lines)
			.filteredOn((line) -> line.startsWith("backfill copied 550 ") || line.startsWith("backfill copied 600 "))
			.hasSize(2)
			.allMatch((line) -> line.contains("more than the table's statistics estimated"));
		assertThat(walk.etaSeconds(0)).isNull();
		// exactly the estimate: nothing left
		BackfillWalk exact = BackfillWalk.copy("500", null, 0, 0, 500L, 50);
		exact.advance("500", 500, 500, 0);
		assertThat(exact.etaSeconds(0)).isZero();
	}

	@Test
	void resumedCopyCountsRowsWalkedAndRewrittenByEarlierRuns() {
		// an earlier run on another instance walked 400 rows and rewrote 300 of them
		BackfillWalk walk = BackfillWalk.copy("1000", "400", 400, 300, 1000L, 100);
		walk.advance("500", 100, 60, 0);
		assertThat(walk.rows()).isEqualTo(500);
		assertThat(walk.changed()).as("as the stored rowsUpdated counts them").isEqualTo(360);
		assertThat(walk.progressLine()).startsWith("backfill copied 500 of about 1000 rows (50%), no rate yet, ")
			.contains(", 360 rewritten;");
	}

	@Test
	void resumedVerificationCountsFromItsCheckpoint() {
		BackfillWalk walk = BackfillWalk.verification(2, "5000", "2500", 2500, 5000L, 3, 7, 500);
		assertThat(walk.progressLine()).isNull();
		walk.advance("3000", 500, 2, 2);
		assertThat(walk.rows()).isEqualTo(3000);
		assertThat(walk.disagreeing()).isEqualTo(5);
		assertThat(walk.changed()).isEqualTo(9);
		assertThat(walk.progressLine())
			.startsWith("verification pass 2 checked 3000 of about 5000 rows (60%), no rate yet, ")
			.endsWith("5 disagreeing, 9 repaired so far");
		assertThat(walk.etaSeconds(0)).isNull();
	}

	@Test
	void aLineWrittenWhileARowsPerSecondCeilingHoldsTheCopySaysSoNotFullPace() {
		AtomicLong now = new AtomicLong(0);
		BackfillWalk walk = BackfillWalk.copy("60000", null, 0, 0, 60_000L, 5000, now::get);
		for (int batch = 1; batch <= 10; batch++) {
			now.addAndGet(Duration.ofMillis(160).toNanos());
			walk.advance(String.valueOf(batch * 5000), 5000, 5000, 0);
		}
		assertThat(walk.progressLine()).endsWith("; at full pace");
		// an operator sets a ceiling of 300 rows/s live: it holds the copy from the next
		// batch, before the pacing names it
		walk.ceiling(300);
		now.addAndGet(Duration.ofMillis(160).toNanos());
		walk.advance("55000", 5000, 5000, 0);
		assertThat(walk.progressLine()).doesNotContain("full pace")
			.endsWith("; held at the ceiling of 300 rows/s (max-rows-per-second)");
		// the window still holds the batches before it, but the rate and the time left
		// count the ceiling: 5,000 rows at 300 rows/s
		assertThat(walk.rate(0)).isEqualTo(300.0);
		assertThat(walk.etaSeconds(0)).isCloseTo(5_000 / 300.0, org.assertj.core.data.Offset.offset(0.01));
		// a ceiling above the pace the copy keeps does not hold it
		walk.ceiling(1_000_000);
		now.addAndGet(Duration.ofSeconds(30).toNanos());
		walk.advance("60000", 5000, 5000, 0);
		assertThat(walk.progressLine()).endsWith("; at full pace");
	}

	@Test
	void rightAfterAResumeTheRateWaitsUntilItsWindowMeansSomething() {
		AtomicLong now = new AtomicLong(1_000_000_000L);
		// resumed at 87,000 of 1,000,000 rows; the first batch runs before any pause
		BackfillWalk walk = BackfillWalk.copy("1000000", "87000", 87_000, 87_000, 1_000_000L, 5000, now::get);
		now.addAndGet(Duration.ofMillis(358).toNanos());
		walk.advance("92000", 5000, 5000, 0);
		now.addAndGet(Duration.ofMillis(1342).toNanos());
		// 1.7 s after the resume the window holds that one batch: 13,963 rows/s read
		// from it said an ETA of 1m5s where the pace was 848 rows/s
		assertThat(walk.rate(0)).isNull();
		assertThat(walk.etaSeconds(0)).isNull();
		assertThat(walk.rate(848)).isNull();
		// then paced, 848 rows a second: once the run is 5 s old the rate means
		// something
		for (int second = 1; second <= 4; second++) {
			now.addAndGet(Duration.ofSeconds(1).toNanos());
			walk.advance("k" + second, 848, 848, 0);
		}
		assertThat(walk.rate(0)).isNotNull().isLessThan(2_000);
		assertThat(walk.etaSeconds(0)).isNotNull().isGreaterThan(400);
	}

	@Test
	void afterAWaitForARowLockTheRateAndEtaReadThePaceFromThenOnNotTheWait() {
		AtomicLong now = new AtomicLong(1_000_000_000L);
		BackfillWalk walk = aMinuteOfTheCopyAt(1_000, now);
		// held back for 3 s, about as long as a few batches and their pauses: the hold is
		// part of the pace, and the rate reads it
		now.addAndGet(Duration.ofSeconds(3).toNanos());
		walk.heldBack(Duration.ofSeconds(3));
		assertThat(walk.rate(0)).isCloseTo(27_000 / 30.0, within(1.0));
		// then a batch waits 90 s for a row another session holds, and goes through
		now.addAndGet(Duration.ofSeconds(90).toNanos());
		walk.advance("61000", 1_000, 1_000, 0);
		walk.heldBack(Duration.ofSeconds(90));
		// read over the wait, the rate would be 1,000 rows in 93 s and the ETA over 14
		// hours, for the window's 30 s: it waits as after a resume instead
		assertThat(walk.rate(0)).isNull();
		assertThat(walk.etaSeconds(0)).isNull();
		now.addAndGet(Duration.ofSeconds(1).toNanos());
		walk.advance("62000", 1_000, 1_000, 0);
		assertThat(walk.rate(0)).isNull();
		for (int second = 2; second <= 6; second++) {
			now.addAndGet(Duration.ofSeconds(1).toNanos());
			walk.advance(String.valueOf(61_000 + second * 1_000), 1_000, 1_000, 0);
		}
		assertThat(walk.rate(0)).isCloseTo(1_000, within(1.0));
		assertThat(walk.etaSeconds(0)).isCloseTo((1_000_000 - 67_000) / 1_000.0, within(1.0));
		assertThat(walk.progressLine()).contains(" at 1000 rows/s, ETA PT15M33S,");
	}

	@Test
	void theRateReadsAtMostTheCeilingInForce() {
		AtomicLong now = new AtomicLong(1_000_000_000L);
		BackfillWalk walk = BackfillWalk.copy("1000000", null, 0, 0, 1_000_000L, 2000, now::get);
		walk.ceiling(2_000);
		// batches of 2,000 rows of 100 ms, each followed by the pause that holds the copy
		// to 2,000 rows a second: six batches in 5.1 s read 2,353 rows/s, one pause fewer
		// than batches (an operator read 2,217 under a ceiling of 2,000 and doubted it)
		for (int batch = 1; batch <= 6; batch++) {
			now.addAndGet(Duration.ofMillis(100).toNanos());
			walk.advance(String.valueOf(batch * 2_000), 2_000, 2_000, 0);
			if (batch < 6) {
				now.addAndGet(Duration.ofMillis(900).toNanos());
			}
		}
		assertThat(walk.rate(0)).isEqualTo(2_000.0);
		assertThat(walk.etaSeconds(0)).isCloseTo((1_000_000 - 12_000) / 2_000.0, within(0.1));
		walk.ceiling(0);
		assertThat(walk.rate(0)).isCloseTo(12_000 / 5.1, within(1.0));
	}

	@Test
	void aVerificationPassIsNotHeldToTheCopysCeilingNorIsItsEta() {
		AtomicLong now = new AtomicLong(1_000_000_000L);
		BackfillWalk timed = BackfillWalk.verification(1, "1000000", null, 0, 1_000_000L, 0, 0, 1000, now::get);
		timed.ceiling(2_000);
		for (int second = 1; second <= 10; second++) {
			now.addAndGet(Duration.ofSeconds(1).toNanos());
			timed.advance(String.valueOf(second * 40_000), 40_000, 0, 0);
		}
		// at 40,000 rows a second, 600,000 rows left: 15 s, not the 300 s of the ceiling
		assertThat(timed.etaSeconds(0)).isCloseTo(15.0, within(0.1));
	}

	@Test
	void rateAndEtaFollowThePaceOfTheLastThirtySecondsNotTheRunsAverage() {
		AtomicLong now = new AtomicLong(1_000_000_000L);
		// a minute at full pace
		BackfillWalk walk = aMinuteOfTheCopyAt(10_000, now);
		assertThat(walk.rate(0)).isCloseTo(10_000, within(1.0));
		// then a workload appears and the copy backs off to 100 rows a second
		for (int second = 61; second <= 120; second++) {
			now.addAndGet(Duration.ofSeconds(1).toNanos());
			walk.advance(String.valueOf(600_000 + (second - 60) * 100), 100, 100, 0);
		}
		// the run's average would still say 5,050 rows a second and an ETA of 78 s
		assertThat(walk.rate(0)).isCloseTo(100, within(1.0));
		assertThat(walk.etaSeconds(0)).isCloseTo((1_000_000 - 606_000) / 100.0, within(10.0));
		assertThat(walk.progressLine()).contains(" at 100 rows/s, ETA PT1H5M40S,");
		// held back for 30 s without a batch: the next checkpoint reads no rows in the
		// window
		now.addAndGet(Duration.ofSeconds(30).toNanos());
		assertThat(walk.rate(0)).isZero();
		assertThat(walk.etaSeconds(0)).as("unknown at no pace").isNull();
		assertThat(walk.rate(500)).isCloseTo(500 / 30.0, within(0.5));
		// and at full pace again: read from the newest batch at or before the window's
		// start, the rate is the full pace's once a window's worth of batches follow
		for (int second = 1; second <= 31; second++) {
			now.addAndGet(Duration.ofSeconds(1).toNanos());
			walk.advance("x" + second, 10_000, 10_000, 0);
		}
		assertThat(walk.rate(0)).isCloseTo(10_000, within(1.0));
	}

	@Test
	void aLineWrittenAtFullPaceSaysHowMuchOfTheTimeSinceTheLastOneWasPaced() {
		AtomicLong now = new AtomicLong(0);
		BackfillWalk walk = BackfillWalk.copy("1000", null, 0, 0, 1000L, 50, now::get);
		walk.advance("100", 100, 100, 0);
		assertThat(walk.progressLine()).endsWith("; at full pace");
		// paced for 20 of the next 30 seconds, then at full pace again
		walk.pacedBy("table-latency: a point read takes 2.00 ms; batches of 50 rows, 100 ms pause");
		now.addAndGet(Duration.ofSeconds(20).toNanos());
		walk.advance("150", 50, 50, 0);
		walk.pacedBy(null);
		now.addAndGet(Duration.ofSeconds(10).toNanos());
		walk.advance("200", 50, 50, 0);
		assertThat(walk.progressLine()).endsWith("; at full pace now, paced 67% of the time since the last line, "
				+ "last by table-latency: a point read takes 2.00 ms; batches of 50 rows, 100 ms pause");
		// the next line counts from this one
		now.addAndGet(Duration.ofSeconds(30).toNanos());
		walk.advance("300", 100, 100, 0);
		assertThat(walk.progressLine()).endsWith("; at full pace");
		// and a line written while paced says what paces it now
		walk.pacedBy("rows-per-second: at most 10 rows/s (max-rows-per-second); batches of 10 rows, 1000 ms pause");
		now.addAndGet(Duration.ofSeconds(30).toNanos());
		walk.advance("400", 100, 100, 0);
		assertThat(walk.progressLine()).endsWith("; paced by rows-per-second: at most 10 rows/s "
				+ "(max-rows-per-second); batches of 10 rows, 1000 ms pause");
		// a pace that grows back names no signal holding it now ("paced by speeding up
		// again" once read as if it were one)
		walk.pacedBy("speeding up again, the copy runs 5% of the time, after table-latency: a point read takes "
				+ "2.00 ms; batches of 50 rows, 190 ms pause");
		now.addAndGet(Duration.ofSeconds(30).toNanos());
		walk.advance("500", 100, 100, 0);
		assertThat(walk.progressLine()).endsWith("; paced, speeding up again, the copy runs 5% of the time, after "
				+ "table-latency: a point read takes 2.00 ms; batches of 50 rows, 190 ms pause");
	}

	/**
	 * A copy of 1,000,000 rows that walked a minute at a pace, one batch a second.
	 */
	private static BackfillWalk aMinuteOfTheCopyAt(int rowsPerSecond, AtomicLong now) {
		BackfillWalk walk = BackfillWalk.copy("1000000", null, 0, 0, 1_000_000L, 1000, now::get);
		for (int second = 1; second <= 60; second++) {
			now.addAndGet(Duration.ofSeconds(1).toNanos());
			walk.advance(String.valueOf(second * rowsPerSecond), rowsPerSecond, rowsPerSecond, 0);
		}
		return walk;
	}

}
