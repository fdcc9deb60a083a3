package dev.zdm.testkit;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillProgress;

/**
 * What a walk did and where its time went: returned by {@link PhaseWalk#run()} and
 * {@link PhaseWalk#runMixedFleet()}, and logged at {@code INFO} by {@link PhaseWalk}.
 * <p>
 * The times are sums per activity. The next phase's instance starts while the current
 * phase is checked, so the sums can add up to more than {@link #total()};
 * {@link #applicationStartsWaitedFor()} is the part of the starts the walk waited for,
 * and {@link #kitOverhead()} what the walk spent outside every activity.
 */
public final class WalkReport {

	private final Duration total;

	private final WalkTimes times;

	private final Map<String, BackfillProgress> backfills;

	private final Duration ddl;

	WalkReport(Duration total, WalkTimes times, Map<String, BackfillProgress> backfills, Duration ddl) {
		this.total = total;
		this.times = times;
		this.backfills = Map.copyOf(backfills);
		this.ddl = ddl;
	}

	/**
	 * Return the walk's wall time.
	 * @return the time from the walk's start to its end
	 */
	public Duration total() {
		return this.total;
	}

	/**
	 * Return the time spent starting the application, summed over every instance: its
	 * context, its own schema migrations, zdm's start-up and what it runs at start-up
	 * (for example the expand DDL with {@code zdm.ddl.expand-at-startup}).
	 * @return the sum
	 */
	public Duration applicationStarts() {
		return this.times.of(WalkTimes.Activity.APPLICATION_START);
	}

	/**
	 * Return how long the walk waited for instances to start: the first instance's start,
	 * and the part of each later start that did not run beside the checks of the phase
	 * before.
	 * @return the time, at most {@link #applicationStarts()}
	 */
	public Duration applicationStartsWaitedFor() {
		return this.times.startsWaitedFor();
	}

	/**
	 * Return how many instances the walk started.
	 * @return the number of application starts
	 */
	public int applicationStartCount() {
		return this.times.count(WalkTimes.Activity.APPLICATION_START);
	}

	/**
	 * Return the time spent in the walk's {@code beforeExpand} step.
	 * @return the time, zero without one
	 */
	public Duration beforeExpand() {
		return this.times.of(WalkTimes.Activity.BEFORE_EXPAND);
	}

	/**
	 * Return the time spent checking the conversion examples and round trips.
	 * @return the time, zero without conversions
	 */
	public Duration conversionChecks() {
		return this.times.of(WalkTimes.Activity.CONVERSION_CHECK);
	}

	/**
	 * Return the time spent waiting for instances to run at their phase and for the
	 * expand and contract DDL to finish.
	 * @return the sum
	 */
	public Duration phasesAndDdl() {
		return this.times.of(WalkTimes.Activity.PHASES_AND_DDL);
	}

	/**
	 * Return how long the expand and contract DDL of the walked migrations took, as zdm
	 * recorded it. The DDL runs in the background of an instance's start (expand) or
	 * while the walk waits for the contract: this time is part of
	 * {@link #applicationStarts()} and {@link #phasesAndDdl()}, not added to them.
	 * @return the sum
	 */
	public Duration ddl() {
		return this.ddl;
	}

	/**
	 * Return the time spent waiting for the backfill to copy and verify.
	 * @return the sum
	 */
	public Duration backfill() {
		return this.times.of(WalkTimes.Activity.BACKFILL);
	}

	/**
	 * Return the time spent in the scenario.
	 * @return the sum over every instance and phase
	 */
	public Duration scenarios() {
		return this.times.of(WalkTimes.Activity.SCENARIO);
	}

	/**
	 * Return the time spent in the user's {@link PhaseTest @PhaseTest} methods.
	 * @return the sum over every phase, zero for a {@link PhaseWalk} with a scenario
	 */
	public Duration testMethods() {
		return this.times.of(WalkTimes.Activity.TEST_METHOD);
	}

	/**
	 * Return the time spent checking that old and new agree.
	 * @return the sum
	 */
	public Duration agreementChecks() {
		return this.times.of(WalkTimes.Activity.AGREEMENT_CHECK);
	}

	/**
	 * Return the time spent stopping instances.
	 * @return the sum
	 */
	public Duration applicationStops() {
		return this.times.of(WalkTimes.Activity.APPLICATION_STOP);
	}

	/**
	 * Return the walk's own work: its wall time less the time its thread spent in the
	 * activities above (starts it waited for, waits, checks, scenarios, test methods,
	 * stops). For {@code @PhaseTest} it includes JUnit's own work between the phases.
	 * @return the time
	 */
	public Duration kitOverhead() {
		return this.times.unaccounted(this.total);
	}

	/**
	 * Return a migration's backfill as it stood once verified: rows walked
	 * ({@code rowsDone}), rows it copied ({@code rowsUpdated}) and its verification.
	 * @param migrationId the migration
	 * @return the progress, or {@code null} if the migration has no backfill or the walk
	 * did not reach {@code backfill}
	 */
	public @Nullable BackfillProgress backfillProgress(String migrationId) {
		return this.backfills.get(migrationId);
	}

	@Override
	public String toString() {
		StringJoiner parts = new StringJoiner(", ");
		for (WalkTimes.Activity activity : WalkTimes.Activity.values()) {
			int count = this.times.count(activity);
			if (count > 0) {
				parts.add(activity.description() + " " + seconds(this.times.of(activity))
						+ ((activity == WalkTimes.Activity.APPLICATION_START)
								? " (" + count + ", waited for " + seconds(applicationStartsWaitedFor()) + ")" : ""));
			}
			if (activity == WalkTimes.Activity.PHASES_AND_DDL) {
				parts.add("DDL " + seconds(this.ddl) + " (within the starts and waits)");
			}
		}
		parts.add("the kit's own work " + seconds(kitOverhead()));
		StringBuilder text = new StringBuilder("zdm walk took " + seconds(this.total) + ": " + parts);
		this.backfills.forEach((id, progress) -> text.append("; backfill of '")
			.append(id)
			.append("' copied ")
			.append(progress.rowsUpdated())
			.append(" of ")
			.append(progress.rowsDone())
			.append(" rows"));
		return text.toString();
	}

	private static String seconds(Duration duration) {
		return String.format(Locale.ROOT, "%.1f s", duration.toMillis() / 1000.0);
	}

}
