package dev.zdm.autoconfigure;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

import dev.zdm.ddl.ExpandContractRunner;
import dev.zdm.locks.LockFiguresSampler;
import dev.zdm.metrics.ExpandMetrics;
import dev.zdm.metrics.ZdmMetrics;
import dev.zdm.phase.PhaseController;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration Auto-configuration} for zdm's
 * Micrometer {@link ZdmMetrics metrics}.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class,
		afterName = { "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
				"org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration" })
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnBean({ PhaseController.class, MeterRegistry.class })
public final class ZdmMetricsAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ZdmMetrics zdmMetrics(PhaseController phaseController, LockFiguresSampler lockFiguresSampler) {
		return new ZdmMetrics(phaseController, lockFiguresSampler);
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBean(ExpandContractRunner.class)
	ExpandMetrics zdmExpandMetrics(PhaseController phaseController, ExpandContractRunner expandContractRunner) {
		return new ExpandMetrics(phaseController, expandContractRunner);
	}

}
