package dev.zdm.phase;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.zdm.backfill.BackfillService;

/**
 * Beans of {@link dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration}, which imports this
 * configuration by name (its types are package-private).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnAvailableEndpoint(ZdmEndpoint.class)
@ConditionalOnBean(PhaseController.class)
class ZdmEndpointConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ZdmEndpoint zdmEndpoint(PhaseController phaseController, LockFiguresSampler lockFiguresSampler,
			BackfillService backfillService, DdlHistoryRepository ddlHistoryRepository,
			ObjectProvider<ExpandContractRunner> expandContractRunner) {
		return new ZdmEndpoint(phaseController, lockFiguresSampler, backfillService, ddlHistoryRepository,
				expandContractRunner.getIfAvailable());
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBean(ZdmEndpoint.class)
	ZdmEndpointWebExtension zdmEndpointWebExtension(ZdmEndpoint zdmEndpoint) {
		return new ZdmEndpointWebExtension(zdmEndpoint);
	}

}
