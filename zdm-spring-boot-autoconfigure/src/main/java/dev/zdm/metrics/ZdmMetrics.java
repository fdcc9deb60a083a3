package dev.zdm.metrics;

import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;

import dev.zdm.fleet.FleetMember;
import dev.zdm.locks.LockFiguresSampler;
import dev.zdm.locks.TableLockFigures;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.phase.MigrationStatus;
import dev.zdm.phase.PhaseController;

/**
 * {@link MeterBinder} for zdm's phase, fleet and lock figures, each tagged with the {@code migration}:
 * <ul>
 * <li>{@code zdm.phase.requested}: the requested phase, 0 ({@code expand}) to 4 ({@code contract});</li>
 * <li>{@code zdm.phase.effective}: the phase this instance runs at, 0 to 4;</li>
 * <li>{@code zdm.phase.held.back}: 1 while the effective phase is behind the requested one, else 0;</li>
 * <li>{@code zdm.fleet.instances}: live instances in the fleet;</li>
 * <li>{@code zdm.heartbeat.failing}: 1 while this instance's heartbeats fail, else 0;</li>
 * <li>{@code zdm.locks.waiters}: sessions waiting for a lock on the migration's table;</li>
 * <li>{@code zdm.locks.longest.wait}: the longest of those waits;</li>
 * <li>{@code zdm.transactions.oldest.age}: the age of the oldest open transaction in the database.</li>
 * </ul>
 * Gauges read what the last heartbeat saw; none queries the database.
 */
public class ZdmMetrics implements MeterBinder {

	private final PhaseController controller;

	private final LockFiguresSampler lockFigures;

	/**
	 * Create a binder.
	 * @param controller the phase controller
	 * @param lockFigures the lock figures sampled at each heartbeat
	 */
	public ZdmMetrics(PhaseController controller, LockFiguresSampler lockFigures) {
		this.controller = controller;
		this.lockFigures = lockFigures;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (MigrationDefinition migration : this.controller.migrations()) {
			String id = migration.id();
			Tags tags = Tags.of("migration", id);
			status(registry, "zdm.phase.requested", "Requested phase, 0 (expand) to 4 (contract)", tags, id,
					(status) -> status.requested().ordinal());
			status(registry, "zdm.phase.effective", "Effective phase, 0 (expand) to 4 (contract)", tags, id,
					(status) -> status.effective().ordinal());
			status(registry, "zdm.phase.held.back", "Whether the effective phase is behind the requested one", tags,
					id, (status) -> (status.effective() != status.requested()) ? 1 : 0);
			status(registry, "zdm.fleet.instances", "Live instances in the fleet", tags, id,
					(status) -> status.fleet().stream().filter(FleetMember::live).count());
			status(registry, "zdm.heartbeat.failing", "Whether this instance's heartbeats fail", tags, id,
					(status) -> (status.lastHeartbeatError() != null) ? 1 : 0);
			locks(registry, "zdm.locks.waiters", tags, id, (figures) -> figures.waitingSessions());
			TimeGauge.builder("zdm.locks.longest.wait", this, TimeUnit.SECONDS,
					(metrics) -> metrics.lockFigure(id, (figures) -> figures.longestWait().toNanos() / 1e9))
				.description("Longest wait for a lock on the migration's table")
				.tags(tags)
				.register(registry);
			TimeGauge.builder("zdm.transactions.oldest.age", this, TimeUnit.SECONDS,
					(metrics) -> metrics.lockFigure(id,
							(figures) -> (figures.oldestTransactionAge() != null)
									? figures.oldestTransactionAge().toNanos() / 1e9 : 0))
				.description("Age of the oldest open transaction in the database")
				.tags(tags)
				.register(registry);
		}
	}

	private void status(MeterRegistry registry, String name, String description, Tags tags, String id,
			ToDoubleFunction<MigrationStatus> value) {
		Gauge.builder(name, this.controller, (controller) -> value.applyAsDouble(controller.status(id)))
			.description(description)
			.tags(tags)
			.register(registry);
	}

	private void locks(MeterRegistry registry, String name, Tags tags, String id,
			ToDoubleFunction<TableLockFigures> value) {
		Gauge.builder(name, this, (metrics) -> metrics.lockFigure(id, value))
			.description("Sessions waiting for a lock on the migration's table")
			.tags(tags)
			.register(registry);
	}

	private double lockFigure(String id, ToDoubleFunction<TableLockFigures> value) {
		TableLockFigures figures = this.lockFigures.figures(id);
		return (figures != null) ? value.applyAsDouble(figures) : 0;
	}

}
