package dev.zdm.phase;

import io.micrometer.observation.ObservationRegistry;

import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Beans of {@link dev.zdm.autoconfigure.ZdmObservationAutoConfiguration}, which imports
 * this configuration by name (its types are package-private).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBean({ PhaseController.class, ObservationRegistry.class })
class ZdmObservationConfiguration {

	@Bean
	@ConditionalOnMissingBean
	BackfillObservations zdmBackfillObservations(ObservationRegistry observationRegistry) {
		return new BackfillObservations(observationRegistry);
	}

	@Bean
	@ConditionalOnMissingBean
	DdlObservations zdmDdlObservations(ObservationRegistry observationRegistry) {
		return new DdlObservations(observationRegistry);
	}

}
