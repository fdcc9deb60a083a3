package dev.zdm.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import dev.zdm.internal.backfill.ContractCheck;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;

/**
 * {@link MeterBinder} for the final check before each contract, tagged with the
 * {@code migration}: {@code zdm.contract.held}, 1 while the check holds the contract back
 * (old and new disagree with every live instance at {@code contract}), and
 * {@code zdm.contract.held.rows}, the keys it found disagreeing, 0 when it does not hold
 * it. They read what the last heartbeat saw.
 */
public class ContractCheckMetrics implements MeterBinder {

	private final PhaseController controller;

	private final FinalContractCheck check;

	/**
	 * Create a binder.
	 * @param controller the phase controller
	 * @param check the final check
	 */
	public ContractCheckMetrics(PhaseController controller, FinalContractCheck check) {
		this.controller = controller;
		this.check = check;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (MigrationDefinition migration : this.controller.migrations()) {
			String id = migration.id();
			Gauge.builder("zdm.contract.held", this, (metrics) -> (metrics.check.held(id) != null) ? 1 : 0)
				.description("Whether the final check holds the contract back: old and new disagree")
				.tag("migration", id)
				.strongReference(true)
				.register(registry);
			Gauge.builder("zdm.contract.held.rows", this, (metrics) -> {
				ContractCheck held = metrics.check.held(id);
				return (held != null) ? held.rowsDisagreeing() : 0;
			})
				.description("Keys the final check found disagreeing while it holds the contract back")
				.tag("migration", id)
				.baseUnit("rows")
				.strongReference(true)
				.register(registry);
		}
	}

}
