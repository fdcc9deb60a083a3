package dev.zdm.metrics;

import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;

import dev.zdm.internal.ddl.ExpandProgress;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;

/**
 * {@link MeterBinder} for where each migration's expand DDL stands on this instance,
 * tagged with the {@code migration}:
 * <ul>
 * <li>{@code zdm.ddl.expand.pending}: 1 while the expand is not done (the migration stays
 * at {@code expand}), else 0;</li>
 * <li>{@code zdm.ddl.expand.state}, tagged with the {@code state} ({@code running},
 * {@code waiting-for-lock}, {@code waiting-for-instance}, {@code queued},
 * {@code retrying}, {@code paused}, {@code done}): 1 for the state the expand is in, else
 * 0;</li>
 * <li>{@code zdm.ddl.expand.paused}: 1 while the expand is paused, for the whole fleet
 * through the endpoint or on this instance by {@code zdm.migrations.<id>.expand-paused},
 * else 0;</li>
 * <li>{@code zdm.ddl.expand.pending.time}: how long it has been pending, 0 once
 * done;</li>
 * <li>{@code zdm.ddl.expand.stalled}: 1 once it has been pending for longer than
 * {@code zdm.ddl.expand-alert-after}, else 0: the signal to alert on;</li>
 * <li>{@code zdm.ddl.expand.lock.timeouts}: attempts of this instance's expand statements
 * that timed out waiting for a lock.</li>
 * </ul>
 * None queries the database.
 */
public class ExpandMetrics implements MeterBinder {

	private final PhaseController controller;

	private final ExpandRunner runner;

	/**
	 * Create a binder.
	 * @param controller the phase controller, for the declared migrations
	 * @param runner the expand runner
	 */
	public ExpandMetrics(PhaseController controller, ExpandRunner runner) {
		this.controller = controller;
		this.runner = runner;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (MigrationDefinition migration : this.controller.migrations()) {
			String id = migration.id();
			Tags tags = Tags.of("migration", id);
			gauge(registry, "zdm.ddl.expand.pending", "Whether the expand DDL is not done yet", tags, id,
					(progress) -> (progress.state() != ExpandProgress.State.DONE) ? 1 : 0);
			for (ExpandProgress.State state : ExpandProgress.State.values()) {
				gauge(registry, "zdm.ddl.expand.state", "1 for the state the expand DDL is in, else 0",
						tags.and("state", state.value()), id, (progress) -> (progress.state() == state) ? 1 : 0);
			}
			gauge(registry, "zdm.ddl.expand.paused",
					"Whether the expand DDL is paused, for the whole fleet or on this instance", tags, id,
					(progress) -> (progress.state() == ExpandProgress.State.PAUSED
							|| (progress.pause() != null && progress.state() != ExpandProgress.State.DONE)) ? 1 : 0);
			TimeGauge
				.builder("zdm.ddl.expand.pending.time", this, TimeUnit.SECONDS,
						(metrics) -> metrics.progress(id,
								(progress) -> progress.pendingFor(Instant.now()).toMillis() / 1000.0))
				.description("How long the expand DDL has been pending")
				.tags(tags)
				.strongReference(true)
				.register(registry);
			gauge(registry, "zdm.ddl.expand.stalled",
					"Whether the expand DDL has been pending for longer than zdm.ddl.expand-alert-after", tags, id,
					(progress) -> progress.stalled() ? 1 : 0);
			FunctionCounter
				.builder("zdm.ddl.expand.lock.timeouts", this,
						(metrics) -> metrics.progress(id, ExpandProgress::lockTimeouts))
				.description("Attempts of the expand DDL that timed out waiting for a lock")
				.tags(tags)
				.register(registry);
		}
	}

	private void gauge(MeterRegistry registry, String name, String description, Tags tags, String id,
			ToDoubleFunction<ExpandProgress> value) {
		Gauge.builder(name, this, (metrics) -> metrics.progress(id, value))
			.description(description)
			.tags(tags)
			.strongReference(true)
			.register(registry);
	}

	private double progress(String id, ToDoubleFunction<ExpandProgress> value) {
		ExpandProgress progress = this.runner.expandProgress(id);
		return (progress != null) ? value.applyAsDouble(progress) : 0;
	}

}
