package dev.zdm.metrics;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.BackfillShown;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.TableLockFigures;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * {@link MeterBinder} for zdm's phase, fleet and lock figures, each tagged with the
 * {@code migration}:
 * <ul>
 * <li>{@code zdm.phase.requested}: the requested phase, 0 ({@code expand}) to 4
 * ({@code contract});</li>
 * <li>{@code zdm.phase.effective}: the phase this instance runs at, 0 to 4;</li>
 * <li>{@code zdm.phase.held.back}: 1 while the effective phase is behind the requested
 * one, else 0;</li>
 * <li>{@code zdm.fleet.instances}: live instances in the fleet;</li>
 * <li>{@code zdm.heartbeat.failing}: 1 while this instance's heartbeats fail, else 0
 * ({@link PhaseController#heartbeatFailure(String)}: also while another migration's
 * heartbeat on the same database failed for want of a connection, or none got through for
 * the fleet timeout);</li>
 * <li>{@code zdm.locks.waiters}: sessions waiting for a lock on the migration's
 * table;</li>
 * <li>{@code zdm.locks.longest.wait}: the longest of those waits;</li>
 * <li>{@code zdm.transactions.oldest.age}: the age of the oldest open transaction in the
 * database;</li>
 * <li>{@code zdm.phase.held.back.duration}: for how long the effective phase has been
 * behind the requested one;</li>
 * <li>{@code zdm.backfill.state}: 1 for the backfill's state, tagged with the
 * {@code state}, 0 for the others;</li>
 * <li>{@code zdm.backfill.paused}: 1 while an operator has paused the backfill;</li>
 * <li>{@code zdm.backfill.rows.done}, {@code zdm.backfill.rows.remaining}: rows walked,
 * and rows estimated to remain;</li>
 * <li>{@code zdm.backfill.rate}: rows walked per second in the current or last run;</li>
 * <li>{@code zdm.backfill.eta}: the time the backfill's copy is estimated to need
 * still;</li>
 * <li>{@code zdm.ddl.blocked.current}: for how long the statement this instance runs now
 * has been trying to get its lock, 0 if none is blocked.</li>
 * </ul>
 * Gauges read what the last heartbeat saw; none queries the database. The backfill's
 * gauges are the same on every instance, as stored for the fleet, and read it as the
 * endpoint shows it ({@link BackfillShown}): {@code pending}, with no rate or ETA, while
 * the instance that ran it is gone. This binder also registers the meters of
 * {@link BackfillMetrics}, {@link DdlMetrics} and {@link DualWriteMetrics} at zero, so
 * that dashboards show them from the start. The gauges hold this binder strongly, so a
 * binder bound by hand keeps reporting after it goes out of scope.
 */
public class ZdmMetrics implements MeterBinder {

	private final PhaseController controller;

	private final LockFiguresSampler lockFigures;

	private final @Nullable BackfillProgressSampler backfillProgress;

	private final @Nullable DdlActivity ddlActivity;

	private final @Nullable HeldBackTracker heldBack;

	/**
	 * Create a binder.
	 * @param controller the phase controller
	 * @param lockFigures the lock figures sampled at each heartbeat
	 */
	public ZdmMetrics(PhaseController controller, LockFiguresSampler lockFigures) {
		this(controller, lockFigures, null, null, null);
	}

	/**
	 * Create a binder.
	 * @param controller the phase controller
	 * @param lockFigures the lock figures sampled at each heartbeat
	 * @param backfillProgress the backfill progress sampled at each heartbeat, or
	 * {@code null}
	 * @param ddlActivity the DDL this instance runs, or {@code null}
	 * @param heldBack since when phases are held back, or {@code null}
	 */
	public ZdmMetrics(PhaseController controller, LockFiguresSampler lockFigures,
			@Nullable BackfillProgressSampler backfillProgress, @Nullable DdlActivity ddlActivity,
			@Nullable HeldBackTracker heldBack) {
		this.controller = controller;
		this.lockFigures = lockFigures;
		this.backfillProgress = backfillProgress;
		this.ddlActivity = ddlActivity;
		this.heldBack = heldBack;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (MigrationDefinition migration : this.controller.migrations()) {
			String id = migration.id();
			Tags tags = Tags.of("migration", id);
			status(registry, "zdm.phase.requested", "Requested phase, 0 (expand) to 4 (contract), 5 (abandon)", tags,
					id, (status) -> status.requested().ordinal());
			status(registry, "zdm.phase.effective", "Effective phase, 0 (expand) to 4 (contract)", tags, id,
					(status) -> status.effective().ordinal());
			status(registry, "zdm.phase.held.back", "Whether the effective phase is behind the requested one", tags, id,
					(status) -> (status.effective() != status.requested() && status.requested() != Phase.ABANDON) ? 1
							: 0);
			status(registry, "zdm.fleet.instances", "Live instances in the fleet", tags, id,
					(status) -> status.fleet().stream().filter(FleetMember::live).count());
			// as the endpoint tells it: failing too while another migration's heartbeat
			// failed for want of a connection, or none got through for the fleet timeout
			Gauge
				.builder("zdm.heartbeat.failing", this.controller,
						(controller) -> (controller.heartbeatFailure(id) != null) ? 1 : 0)
				.description("Whether this instance's heartbeats fail")
				.tags(tags)
				.strongReference(true)
				.register(registry);
			locks(registry, "zdm.locks.waiters", tags, id, (figures) -> figures.waitingSessions());
			TimeGauge
				.builder("zdm.locks.longest.wait", this, TimeUnit.SECONDS,
						(metrics) -> metrics.lockFigure(id, (figures) -> figures.longestWait().toNanos() / 1e9))
				.description("Longest wait for a lock on the migration's table")
				.tags(tags)
				.strongReference(true)
				.register(registry);
			TimeGauge
				.builder("zdm.transactions.oldest.age", this, TimeUnit.SECONDS,
						(metrics) -> metrics.lockFigure(id,
								(figures) -> (figures.oldestTransactionAge() != null)
										? figures.oldestTransactionAge().toNanos() / 1e9 : 0))
				.description("Age of the oldest open transaction in the database")
				.tags(tags)
				.strongReference(true)
				.register(registry);
			timeGauge(registry, "zdm.phase.held.back.duration",
					"How long the effective phase has been behind the requested one", tags,
					(metrics) -> seconds((metrics.heldBack != null) ? metrics.heldBack.heldBackFor(id) : null));
			bindBackfill(registry, id, tags);
			timeGauge(registry, "zdm.ddl.blocked.current",
					"How long the DDL statement this instance runs has been trying to get its lock", tags,
					(metrics) -> {
						DdlActivity.Blocked blocked = (metrics.ddlActivity != null) ? metrics.ddlActivity.blocked(id)
								: null;
						return seconds((blocked != null) ? blocked.duration() : null);
					});
			BackfillMetrics.registerMeters(registry, id);
			DdlMetrics.registerMeters(registry, id);
			DualWriteMetrics.registerMeters(registry, id);
		}
	}

	private void bindBackfill(MeterRegistry registry, String id, Tags tags) {
		for (BackfillState state : BackfillState.values()) {
			Gauge.builder("zdm.backfill.state", this, (metrics) -> {
				BackfillProgress progress = metrics.backfillProgress(id);
				BackfillState current = (progress != null) ? progress.state() : BackfillState.PENDING;
				return (current == state) ? 1 : 0;
			})
				.description("1 for the state the backfill is in, else 0")
				.tags(tags.and("state", state.value()))
				.strongReference(true)
				.register(registry);
		}
		backfillGauge(registry, "zdm.backfill.paused", "Whether an operator has paused the backfill", tags, id,
				(progress) -> progress.paused() ? 1 : 0);
		backfillGauge(registry, "zdm.backfill.rows.done", "Rows the backfill has walked", tags, id,
				BackfillProgress::rowsDone);
		backfillGauge(registry, "zdm.backfill.rows.remaining", "Rows the backfill estimates it still has to walk", tags,
				id, (progress) -> (progress.rowsEstimated() != null)
						? Math.max(0, progress.rowsEstimated() - progress.rowsDone()) : Double.NaN);
		backfillGauge(registry, "zdm.backfill.rate", "Rows the backfill walks per second", tags, id,
				(progress) -> (progress.rate() != null) ? progress.rate() : Double.NaN);
		timeGauge(registry, "zdm.backfill.eta", "Time the backfill's copy is estimated to need still", tags,
				(metrics) -> {
					BackfillProgress progress = metrics.backfillProgress(id);
					return (progress != null && progress.eta() != null) ? seconds(progress.eta()) : Double.NaN;
				});
	}

	private void backfillGauge(MeterRegistry registry, String name, String description, Tags tags, String id,
			ToDoubleFunction<BackfillProgress> value) {
		Gauge.builder(name, this, (metrics) -> {
			BackfillProgress progress = metrics.backfillProgress(id);
			return (progress != null) ? value.applyAsDouble(progress) : Double.NaN;
		}).description(description).tags(tags).strongReference(true).register(registry);
	}

	private void timeGauge(MeterRegistry registry, String name, String description, Tags tags,
			ToDoubleFunction<ZdmMetrics> seconds) {
		TimeGauge.builder(name, this, TimeUnit.SECONDS, seconds)
			.description(description)
			.tags(tags)
			.strongReference(true)
			.register(registry);
	}

	// as the endpoint shows it: pending, not running, while its runner is gone
	private @Nullable BackfillProgress backfillProgress(String id) {
		return (this.backfillProgress != null)
				? BackfillShown.of(this.controller.status(id), this.backfillProgress.progress(id)) : null;
	}

	private static double seconds(@Nullable Duration duration) {
		return (duration != null) ? duration.toNanos() / 1e9 : 0;
	}

	private void status(MeterRegistry registry, String name, String description, Tags tags, String id,
			ToDoubleFunction<MigrationStatus> value) {
		Gauge.builder(name, this.controller, (controller) -> value.applyAsDouble(controller.status(id)))
			.description(description)
			.tags(tags)
			.strongReference(true)
			.register(registry);
	}

	private void locks(MeterRegistry registry, String name, Tags tags, String id,
			ToDoubleFunction<TableLockFigures> value) {
		Gauge.builder(name, this, (metrics) -> metrics.lockFigure(id, value))
			.description("Sessions waiting for a lock on the migration's table")
			.tags(tags)
			.strongReference(true)
			.register(registry);
	}

	private double lockFigure(String id, ToDoubleFunction<TableLockFigures> value) {
		TableLockFigures figures = this.lockFigures.figures(id);
		return (figures != null) ? value.applyAsDouble(figures) : 0;
	}

}
