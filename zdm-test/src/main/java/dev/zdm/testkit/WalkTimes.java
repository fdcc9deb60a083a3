package dev.zdm.testkit;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/**
 * Where a walk's time goes, summed by activity. Instances start in the background while
 * the phase before is checked, so the sums can add up to more than the walk's wall time.
 * What the walk's own thread spends (activities on it, and waiting for an instance that
 * starts in the background) is also summed on its own: the rest of the wall time is the
 * walk's own work.
 */
final class WalkTimes {

	private final Map<Activity, Long> nanos = new EnumMap<>(Activity.class);

	private final Map<Activity, Integer> counts = new EnumMap<>(Activity.class);

	private final long started = System.nanoTime();

	private final Thread walkThread = Thread.currentThread();

	private long startsWaitedFor;

	private long accounted;

	/**
	 * Add the time since {@code startedNanos} to an activity.
	 * @param activity the activity
	 * @param startedNanos when it started, from {@link System#nanoTime()}
	 */
	synchronized void add(Activity activity, long startedNanos) {
		long elapsed = System.nanoTime() - startedNanos;
		this.nanos.merge(activity, elapsed, Long::sum);
		this.counts.merge(activity, 1, Integer::sum);
		if (Thread.currentThread() == this.walkThread && !activity.nested) {
			this.accounted += elapsed;
			if (activity == Activity.APPLICATION_START) {
				this.startsWaitedFor += elapsed;
			}
		}
	}

	/**
	 * Add the time since {@code startedNanos} that the walk's thread waited for an
	 * instance starting in the background.
	 * @param startedNanos when it began to wait, from {@link System#nanoTime()}
	 */
	synchronized void waitedForStart(long startedNanos) {
		long elapsed = System.nanoTime() - startedNanos;
		this.startsWaitedFor += elapsed;
		this.accounted += elapsed;
	}

	/**
	 * Return how long the walk's thread waited for instances to start: the starts it ran
	 * itself, and the rest of those that started in the background.
	 * @return the time
	 */
	synchronized Duration startsWaitedFor() {
		return Duration.ofNanos(this.startsWaitedFor);
	}

	/**
	 * Return the time the walk's thread spent outside every activity: the walk's own
	 * work.
	 * @param total the walk's wall time
	 * @return the time
	 */
	synchronized Duration unaccounted(Duration total) {
		return Duration.ofNanos(Math.max(0, total.toNanos() - this.accounted));
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

		/** The walk's beforeExpand step, part of the first instance's start. */
		BEFORE_EXPAND("beforeExpand", true),

		/** The conversion examples and round trips. */
		CONVERSION_CHECK("conversion checks"),

		/**
		 * Waiting for instances to reach their phase and for the expand and contract DDL,
		 * and moving an instance to the next phase.
		 */
		PHASES_AND_DDL("waiting for phases and DDL"),

		/** Waiting for the backfill to copy and verify. */
		BACKFILL("backfill"),

		/** The user's scenario. */
		SCENARIO("scenarios"),

		/** The user's {@code @PhaseTest} methods. */
		TEST_METHOD("test methods"),

		/** Checking that old and new agree. */
		AGREEMENT_CHECK("agreement checks"),

		/** Stopping instances. */
		APPLICATION_STOP("application stops");

		private final String description;

		private final boolean nested;

		Activity(String description) {
			this(description, false);
		}

		Activity(String description, boolean nested) {
			this.description = description;
			this.nested = nested;
		}

		String description() {
			return this.description;
		}

	}

}
