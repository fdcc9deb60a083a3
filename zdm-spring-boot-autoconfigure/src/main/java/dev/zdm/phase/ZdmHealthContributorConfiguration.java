package dev.zdm.phase;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.zdm.autoconfigure.ZdmProperties;

/**
 * Beans of {@link dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration}, which
 * imports this configuration by name (its types are package-private).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBean(PhaseController.class)
class ZdmHealthContributorConfiguration {

	@Bean
	@ConditionalOnMissingBean(name = "zdmHealthIndicator")
	ZdmHealthIndicator zdmHealthIndicator(PhaseController phaseController, ZdmProperties properties,
			ObjectProvider<ExpandContractRunner> ddlRunner,
			ObjectProvider<BackfillProgressSampler> backfillProgressSampler, ObjectProvider<DdlActivity> ddlActivity,
			ObjectProvider<HeldBackTracker> heldBackTracker) {
		ZdmProperties.Health health = properties.getHealth();
		return new ZdmHealthIndicator(phaseController, ddlRunner.getIfAvailable(),
				backfillProgressSampler.getIfAvailable(), ddlActivity.getIfAvailable(),
				heldBackTracker.getIfAvailable(),
				new ZdmHealthIndicator.Thresholds(health.getDdlBlockedThreshold(), health.getHeldBackThreshold()));
	}

}
