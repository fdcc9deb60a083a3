package dev.zdm.autoconfigure;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import dev.zdm.health.ZdmHealthIndicator;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.PhaseController;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for {@code ZdmHealthIndicator}.
 */
@AutoConfiguration(after = ZdmAutoConfiguration.class)
@ConditionalOnClass({ AbstractHealthIndicator.class, ConditionalOnEnabledHealthIndicator.class })
@ConditionalOnEnabledHealthIndicator("zdm")
@ConditionalOnBean(PhaseController.class)
public final class ZdmHealthContributorAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean(name = "zdmHealthIndicator")
	ZdmHealthIndicator zdmHealthIndicator(PhaseController phaseController, ZdmProperties properties,
			ObjectProvider<ExpandRunner> expandRunner, ObjectProvider<BackfillProgressSampler> backfillProgressSampler,
			ObjectProvider<DdlActivity> ddlActivity, ObjectProvider<HeldBackTracker> heldBackTracker,
			ObjectProvider<FinalContractCheck> finalContractCheck, ObjectProvider<AbandonRunner> abandonRunner,
			ObjectProvider<ZdmEngines> engines) {
		ZdmProperties.Health health = properties.getHealth();
		ZdmHealthIndicator.Thresholds thresholds = new ZdmHealthIndicator.Thresholds(health.getDdlBlockedThreshold(),
				health.getHeldBackThreshold());
		ZdmHealthIndicator indicator = new ZdmHealthIndicator(phaseController, expandRunner.getIfAvailable(),
				backfillProgressSampler.getIfAvailable(), ddlActivity.getIfAvailable(),
				heldBackTracker.getIfAvailable(), finalContractCheck.getIfAvailable(), abandonRunner.getIfAvailable(),
				thresholds);
		engines.ifAvailable((others) -> indicator.setOtherDatabases(others.engines()
			.stream()
			.map((engine) -> new ZdmHealthIndicator(engine.controller(), engine.expandRunner(),
					engine.backfillProgressSampler(), engine.ddlActivity(), engine.heldBackTracker(),
					engine.finalContractCheck(), engine.abandonRunner(), thresholds))
			.toList()));
		return indicator;
	}

}
