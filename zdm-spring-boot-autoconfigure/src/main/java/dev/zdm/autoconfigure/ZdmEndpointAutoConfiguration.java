package dev.zdm.autoconfigure;

import javax.sql.DataSource;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.audit.AuditEventRepository;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointAutoConfiguration;
import org.springframework.boot.actuate.endpoint.EndpointAccessResolver;
import org.springframework.boot.actuate.endpoint.web.PathMappedEndpoints;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.HandlerExceptionResolver;

import dev.zdm.actuate.endpoint.ZdmEndpoint;
import dev.zdm.actuate.endpoint.ZdmEndpointRequestCheck;
import dev.zdm.actuate.endpoint.ZdmEndpointWebErrors;
import dev.zdm.actuate.endpoint.ZdmEndpointWebExtension;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.LockFiguresSampler;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for the zdm endpoint.
 */
@AutoConfiguration(after = { ZdmAutoConfiguration.class, WebEndpointAutoConfiguration.class })
@ConditionalOnClass(ConditionalOnAvailableEndpoint.class)
@ConditionalOnAvailableEndpoint(ZdmEndpoint.class)
@ConditionalOnBean(PhaseController.class)
public final class ZdmEndpointAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ZdmEndpoint zdmEndpoint(PhaseController phaseController, LockFiguresSampler lockFiguresSampler,
			BackfillService backfillService, DdlHistoryRepository ddlHistoryRepository,
			ObjectProvider<ExpandRunner> expandRunner, ObjectProvider<FinalContractCheck> finalContractCheck,
			ObjectProvider<AbandonRunner> abandonRunner, ObjectProvider<MigrationPlanner> planner,
			ZdmDataSource dataSource, ZdmTables tables, OperatorActionRepository operatorActions,
			ApplicationEventPublisher eventPublisher, ObjectProvider<AuditEventRepository> auditEventRepository,
			ObjectProvider<ZdmEngines> engines) {
		ZdmEndpoint endpoint = new ZdmEndpoint(phaseController, lockFiguresSampler, backfillService,
				ddlHistoryRepository, expandRunner.getIfAvailable(), finalContractCheck.getIfAvailable(),
				abandonRunner.getIfAvailable(), planner.getIfAvailable(),
				new BackfillOverrideRepository(dataSource.get(), tables), operatorActions, eventPublisher,
				auditEventRepository.getIfAvailable());
		engines.ifAvailable((others) -> endpoint.setOtherDatabases(others.engines()
			.stream()
			.map((engine) -> new ZdmEndpoint(engine.controller(), engine.lockFiguresSampler(), engine.backfillService(),
					engine.ddlHistory(), engine.expandRunner(), engine.finalContractCheck(), engine.abandonRunner(),
					engine.planner(), new BackfillOverrideRepository(engine.dataSource(), engine.tables()),
					engine.operatorActions(), eventPublisher, auditEventRepository.getIfAvailable()))
			.toList()));
		return endpoint;
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBean(ZdmEndpoint.class)
	ZdmEndpointWebExtension zdmEndpointWebExtension(ZdmEndpoint zdmEndpoint) {
		return new ZdmEndpointWebExtension(zdmEndpoint);
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBean(ZdmEndpoint.class)
	ZdmEndpointRequestCheck zdmEndpointRequestCheck() {
		return new ZdmEndpointRequestCheck();
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
	@ConditionalOnClass(HandlerExceptionResolver.class)
	static class ServletErrorsConfiguration {

		@Bean
		@ConditionalOnMissingBean
		@ConditionalOnBean(PathMappedEndpoints.class)
		ZdmEndpointWebErrors zdmEndpointWebErrors(PathMappedEndpoints endpoints,
				ObjectProvider<EndpointAccessResolver> access) {
			return new ZdmEndpointWebErrors(endpoints, access.getIfAvailable());
		}

	}

}
