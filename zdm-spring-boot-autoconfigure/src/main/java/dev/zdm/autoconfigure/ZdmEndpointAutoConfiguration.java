package dev.zdm.autoconfigure;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.actuate.audit.AuditEventRepository;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointAutoConfiguration;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.EndpointAccessResolver;
import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.web.PathMappedEndpoints;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
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

	/**
	 * Warns at start-up when the endpoint's write operations are on and Spring Security
	 * is not on the class path: anyone who reaches the endpoint can pause, tune or
	 * override a migration then.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnMissingClass("org.springframework.security.config.annotation.web.builders.HttpSecurity")
	static class OpenWritesConfiguration {

		private static final Log logger = LogFactory.getLog(ZdmEndpointAutoConfiguration.class);

		@Bean
		SmartInitializingSingleton zdmOpenWritesWarning(ObjectProvider<EndpointAccessResolver> access) {
			return () -> {
				EndpointAccessResolver resolver = access.getIfAvailable();
				if (resolver != null
						&& resolver.accessFor(EndpointId.of("zdm"), Access.READ_ONLY) == Access.UNRESTRICTED) {
					logger.warn("zdm: the write operations of the zdm endpoint are on "
							+ "(management.endpoint.zdm.access=unrestricted) and Spring Security is not on the class "
							+ "path: whoever reaches the endpoint can pause, tune, verify or override a migration, "
							+ "recorded as anonymous. Secure it (see docs/observability.md) or keep the management "
							+ "port out of reach");
				}
			};
		}

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
