package dev.zdm.phase;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Beans of {@link dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration}, which imports this
 * configuration by name (its types are package-private).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBean({ PhaseController.class, MeterRegistry.class })
class ZdmMetricsConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ZdmMetrics zdmMetrics(PhaseController phaseController, LockFiguresSampler lockFiguresSampler,
			ObjectProvider<BackfillProgressSampler> backfillProgressSampler, ObjectProvider<DdlActivity> ddlActivity,
			ObjectProvider<HeldBackTracker> heldBackTracker) {
		return new ZdmMetrics(phaseController, lockFiguresSampler, backfillProgressSampler.getIfAvailable(),
				ddlActivity.getIfAvailable(), heldBackTracker.getIfAvailable());
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillMetrics zdmBackfillMetrics(MeterRegistry meterRegistry) {
		return new BackfillMetrics(meterRegistry);
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
	@ConditionalOnBean(ExpandContractRunner.class)
	ExpandMetrics zdmExpandMetrics(PhaseController phaseController, ExpandContractRunner expandContractRunner) {
		return new ExpandMetrics(phaseController, expandContractRunner);
	}

}
