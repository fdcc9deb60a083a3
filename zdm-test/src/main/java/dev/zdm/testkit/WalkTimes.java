package dev.zdm.testkit;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/**
 * Where a walk's time goes, summed by activity. Instances start in the background while
 * the phase before is checked, so the sums can add up to more than the walk's wall time.
 */
final class WalkTimes {

	private final Map<Activity, Long> nanos = new EnumMap<>(Activity.class);

	private final Map<Activity, Integer> counts = new EnumMap<>(Activity.class);

	private final long started = System.nanoTime();

	/**
	 * Add the time since {@code startedNanos} to an activity.
	 * @param activity the activity
	 * @param startedNanos when it started, from {@link System#nanoTime()}
	 */
	synchronized void add(Activity activity, long startedNanos) {
		this.nanos.merge(activity, System.nanoTime() - startedNanos, Long::sum);
		this.counts.merge(activity, 1, Integer::sum);
	}

	synchronized Duration of(Activity activity) {
		return Duration.ofNanos(this.nanos.getOrDefault(activity, 0L));
	}

	synchronized int count(Activity activity) {
		return this.counts.getOrDefault(activity, 0);
	}

	Duration sinceStart() {
		return Duration.ofNanos(System.nanoTime() - this.started);
	}

	/**
	 * What a walk spends its time on.
	 */
	enum Activity {

		/**
		 * Starting the application: its context, schema migrations and zdm's start-up.
		 */
		APPLICATION_START("application starts"),

		/** The walk's beforeExpand step. */
		BEFORE_EXPAND("beforeExpand"),

		/** The conversion examples and round trips. */
		CONVERSION_CHECK("conversion checks"),

		/**
		 * Waiting for instances to reach their phase and for the expand and contract DDL.
		 */
		PHASES_AND_DDL("waiting for phases and DDL"),

		/** Waiting for the backfill to copy and verify. */
		BACKFILL("backfill"),

		/** The user's scenario. */
		SCENARIO("scenarios"),

		/** Checking that old and new agree. */
		AGREEMENT_CHECK("agreement checks"),

		/** Stopping instances. */
		APPLICATION_STOP("application stops");

		private final String description;

		Activity(String description) {
			this.description = description;
		}

		String description() {
			return this.description;
		}

	}

}
