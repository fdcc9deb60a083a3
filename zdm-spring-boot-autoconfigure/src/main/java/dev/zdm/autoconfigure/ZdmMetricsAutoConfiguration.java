package dev.zdm.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.zdm.internal.backfill.ApplicationLatency;
import dev.zdm.internal.backfill.OwnPoolCalls;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.metrics.BackfillMetrics;
import dev.zdm.metrics.ContractCheckMetrics;
import dev.zdm.metrics.DdlMetrics;
import dev.zdm.metrics.DualWriteMetrics;
import dev.zdm.metrics.ExpandMetrics;
import dev.zdm.metrics.MicrometerApplicationLatency;
import dev.zdm.metrics.ZdmMetrics;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for zdm's Micrometer metrics.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class,
		afterName = { "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
				"org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration" })
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnBean({ PhaseController.class, MeterRegistry.class })
public final class ZdmMetricsAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ZdmMetrics zdmMetrics(PhaseController phaseController, LockFiguresSampler lockFiguresSampler,
			ObjectProvider<BackfillProgressSampler> backfillProgressSampler, ObjectProvider<DdlActivity> ddlActivity,
			ObjectProvider<HeldBackTracker> heldBackTracker) {
		return new ZdmMetrics(phaseController, lockFiguresSampler, backfillProgressSampler.getIfAvailable(),
				ddlActivity.getIfAvailable(), heldBackTracker.getIfAvailable());
	}

	@Bean
	@ConditionalOnBean(ZdmEngines.class)
	MeterBinder zdmOtherDatabasesMetrics(ZdmEngines engines) {
		// the meters are per migration, so those of the other databases' engines sit
		// beside zdm's own
		return (registry) -> engines.engines().forEach((engine) -> {
			new ZdmMetrics(engine.controller(), engine.lockFiguresSampler(), engine.backfillProgressSampler(),
					engine.ddlActivity(), engine.heldBackTracker())
				.bindTo(registry);
			new ContractCheckMetrics(engine.controller(), engine.finalContractCheck()).bindTo(registry);
			new ExpandMetrics(engine.controller(), engine.expandRunner()).bindTo(registry);
		});
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBean(FinalContractCheck.class)
	ContractCheckMetrics zdmContractCheckMetrics(PhaseController phaseController,
			FinalContractCheck finalContractCheck) {
		return new ContractCheckMetrics(phaseController, finalContractCheck);
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillMetrics zdmBackfillMetrics(MeterRegistry meterRegistry) {
		return new BackfillMetrics(meterRegistry);
	}

	@Bean
	@ConditionalOnMissingBean(ApplicationLatency.class)
	MicrometerApplicationLatency zdmApplicationLatency(MeterRegistry meterRegistry,
			ObjectProvider<OwnPoolCalls> ownCalls) {
		return new MicrometerApplicationLatency(meterRegistry, ownCalls.getIfAvailable(OwnPoolCalls::new));
	}

	@Bean
	@ConditionalOnMissingBean
	DdlMetrics zdmDdlMetrics(MeterRegistry meterRegistry) {
		return new DdlMetrics(meterRegistry);
	}

	@Bean
	@ConditionalOnMissingBean
	DualWriteMetrics zdmDualWriteMetrics(MeterRegistry meterRegistry) {
		return new DualWriteMetrics(meterRegistry);
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBean(ExpandRunner.class)
	ExpandMetrics zdmExpandMetrics(PhaseController phaseController, ExpandRunner expandRunner) {
		return new ExpandMetrics(phaseController, expandRunner);
	}

}
