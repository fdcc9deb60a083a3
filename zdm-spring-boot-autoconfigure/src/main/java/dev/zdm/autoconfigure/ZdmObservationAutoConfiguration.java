package dev.zdm.autoconfigure;

import io.micrometer.observation.ObservationRegistry;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.observation.BackfillObservations;
import dev.zdm.observation.DdlObservations;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for the observations of zdm's backfill batches, verification passes
 * and DDL statements.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class,
		afterName = "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration")
@ConditionalOnClass(ObservationRegistry.class)
@ConditionalOnBean({ PhaseController.class, ObservationRegistry.class })
public final class ZdmObservationAutoConfiguration {

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
