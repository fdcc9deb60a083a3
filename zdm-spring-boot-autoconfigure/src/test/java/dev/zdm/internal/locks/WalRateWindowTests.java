package dev.zdm.internal.locks;

import java.time.Duration;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.internal.locks.WalInspector.RateWindow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Tests for the arithmetic of {@link WalInspector}'s WAL rate, without a database.
 */
@Tag("no-database")
class WalRateWindowTests {

	private static final long SECOND = Duration.ofSeconds(1).toNanos();

	private final RateWindow window = new RateWindow(SECOND);

	@Test
	void noRateBeforeAFirstWindowEnds() {
		assertThat(this.window.due(0)).isTrue();
		assertThat(this.window.add(1_000_000, 0)).isNull();
		assertThat(this.window.due(SECOND / 2)).isFalse();
		assertThat(this.window.add(9_000_000, SECOND / 2)).as("half a window").isNull();
		assertThat(this.window.last()).isNull();
	}

	@Test
	void rateIsTheBytesWrittenOverTheWindowPerSecond() {
		this.window.add(1_000_000, 0);
		assertThat(this.window.due(SECOND)).isTrue();
		// 80 MB in 2 s
		assertThat(this.window.add(1_000_000 + 80L * 1024 * 1024, 2 * SECOND)).isCloseTo(40.0 * 1024 * 1024,
				within(1.0));
		// the next window starts where that one ended: 3 MB in 1.5 s
		assertThat(this.window.add(1_000_000 + 83L * 1024 * 1024, 3 * SECOND + SECOND / 2)).isCloseTo(2.0 * 1024 * 1024,
				within(1.0));
	}

	@Test
	void aReadingWithinAWindowKeepsTheLastRateAndDoesNotMoveTheWindow() {
		this.window.add(0, 0);
		assertThat(this.window.add(10_000, SECOND)).isCloseTo(10_000, within(0.001));
		assertThat(this.window.add(20_000, SECOND + SECOND / 2)).as("within the next window")
			.isCloseTo(10_000, within(0.001));
		// the window runs from the end of the last one, not from the reading within it
		assertThat(this.window.add(40_000, 2 * SECOND)).isCloseTo(30_000, within(0.001));
	}

	@Test
	void nothingWrittenIsARateOfZero() {
		this.window.add(7_000, 0);
		assertThat(this.window.add(7_000, 5 * SECOND)).isZero();
	}

	@Test
	void aPositionThatGoesBackStartsAgainWithNoRate() {
		this.window.add(5_000_000, 0);
		assertThat(this.window.add(6_000_000, SECOND)).isCloseTo(1_000_000, within(0.001));
		// another server after a failover, whose log is at an earlier position
		assertThat(this.window.add(1_000, 2 * SECOND)).isNull();
		assertThat(this.window.add(2_001_000, 3 * SECOND)).isCloseTo(2_000_000, within(0.001));
	}

}
