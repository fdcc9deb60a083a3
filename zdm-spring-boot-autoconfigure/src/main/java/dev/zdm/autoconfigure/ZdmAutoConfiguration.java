package dev.zdm.autoconfigure;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.metadata.DataSourcePoolMetadataProvider;
import org.springframework.boot.jpa.autoconfigure.EntityManagerFactoryDependsOnPostProcessor;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.io.ResourceLoader;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.backfill.ApplicationLatency;
import dev.zdm.internal.backfill.OwnPoolCalls;
import dev.zdm.internal.backfill.BackfillListener;
import dev.zdm.internal.backfill.BackfillParticipant;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.BackfillRepository;
import dev.zdm.internal.backfill.ContractCheckRepository;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.dualwrite.DualWriteRepositoryRegistrar;
import dev.zdm.internal.ddl.ContractPrecondition;
import dev.zdm.internal.ddl.ContractRunner;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlListener;
import dev.zdm.internal.ddl.DdlScriptValidator;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.ExpandPause;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.FlywayStep;
import dev.zdm.internal.ddl.LockSafeExecutor;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.ddl.PreparedStatementCheck;
import dev.zdm.internal.ddl.SchemaChangeContributions;
import dev.zdm.internal.ddl.declared.DeclaredOperations;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.internal.locks.TransactionPoolingCheck;
import dev.zdm.migration.MigrationDefinition;

/**
 * {@link org.springframework.boot.autoconfigure.EnableAutoConfiguration
 * Auto-configuration} for zdm's zero-downtime migrations: the phase controller and fleet
 * registry on the application's {@link DataSource}, or on the one {@code zdm.data-source}
 * names when there are several.
 */
@AutoConfiguration(afterName = { "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
		"org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration" })
@ConditionalOnClass({ JdbcTemplate.class, Flyway.class })
@Conditional(OnZdmDataSourceCondition.class)
@ConditionalOnBooleanProperty(name = "zdm.enabled", matchIfMissing = true)
@EnableConfigurationProperties(ZdmProperties.class)
public final class ZdmAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	InstanceInfo zdmInstanceInfo(ZdmProperties properties, Environment environment) {
		String version = (properties.getApplicationVersion() != null) ? properties.getApplicationVersion()
				: environment.getProperty("spring.application.version");
		return InstanceInfo.ofThisProcess(properties.getInstanceId(),
				environment.getProperty("spring.application.name"), version);
	}

	@Bean
	OwnPoolCalls zdmOwnPoolCalls() {
		return new OwnPoolCalls();
	}

	@Bean
	ZdmDataSource zdmDataSource(ZdmProperties properties, ListableBeanFactory beanFactory, OwnPoolCalls ownCalls,
			Environment environment) {
		ZdmDataSource dataSource = ZdmDataSource.resolve(properties.getDataSource(), beanFactory, ownCalls)
			.withDdlRole(properties.getDdl(), environment);
		ZdmEngines.checkDataSources(properties, beanFactory);
		if (beanFactory instanceof ConfigurableListableBeanFactory configurable) {
			DualWriteRepositoryRegistrar.checkDeclared(configurable, properties.getMigrations().keySet());
		}
		return dataSource;
	}

	@Bean
	@ConditionalOnMissingBean
	ZdmTables zdmTables(ZdmProperties properties) {
		return ZdmEngineFactory.tables(properties);
	}

	@Bean
	@ConditionalOnMissingBean
	LockInspector zdmLockInspector(ZdmDataSource dataSource, ZdmProperties properties) {
		return ZdmEngineFactory.lockInspector(dataSource.get(), properties);
	}

	@Bean
	@ConditionalOnMissingBean
	ReplicationLagInspector zdmReplicationLagInspector(ZdmDataSource dataSource) {
		return new ReplicationLagInspector(dataSource.get());
	}

	@Bean
	@ConditionalOnMissingBean
	DdlSettings zdmDdlSettings(ZdmProperties properties) {
		return ZdmEngineFactory.ddlSettings(properties);
	}

	@Bean
	@ConditionalOnMissingBean
	LockFiguresSampler zdmLockFiguresSampler(LockInspector zdmLockInspector) {
		return new LockFiguresSampler(zdmLockInspector);
	}

	@Bean
	@ConditionalOnMissingBean
	LockSafeExecutor zdmLockSafeExecutor(ZdmDataSource dataSource, DdlSettings settings, DdlHistoryRepository history,
			LockInspector lockInspector, ObjectProvider<DdlListener> listeners) {
		return ZdmEngineFactory.lockSafeExecutor(dataSource.get(), settings, history, lockInspector,
				listeners.orderedStream().toList());
	}

	@Bean
	@ConditionalOnMissingBean
	FlywayStep zdmFlywayStep(ZdmDataSource dataSource, LockSafeExecutor executor, DdlHistoryRepository history,
			ResourceLoader resourceLoader) {
		return ZdmEngineFactory.flywayStep(dataSource.ddl(), executor, history, resourceLoader);
	}

	@Bean
	@ConditionalOnMissingBean
	SchemaChangeContributions zdmSchemaChangeContributions(ObjectProvider<SchemaChangeContributor> contributors,
			LockSafeExecutor executor) {
		return new SchemaChangeContributions(contributors.orderedStream().toList(), executor);
	}

	@Bean
	@ConditionalOnMissingBean
	DdlScriptValidator zdmDdlScriptValidator(ZdmDataSource dataSource, FlywayStep flywayStep,
			MigrationValidator migrationValidator, ZdmProperties properties) {
		return ZdmEngineFactory.ddlScriptValidator(dataSource.get(), flywayStep, migrationValidator, properties);
	}

	@Bean
	@ConditionalOnMissingBean
	ExpandPause zdmExpandPause(ZdmDataSource dataSource, DdlHistoryRepository history, InstanceInfo instance) {
		return new ExpandPause(dataSource.ddl(), history, instance);
	}

	@Bean
	@ConditionalOnMissingBean
	ExpandRunner zdmExpandRunner(ZdmDataSource dataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, ExpandPause expandPause, DdlHistoryRepository history,
			MigrationStateRepository states, MigrationValidator migrationValidator, DdlSettings settings,
			ZdmProperties properties, InstanceInfo instance,
			ObjectProvider<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		return ZdmEngineFactory.expandRunner(dataSource.get(), dataSource.ddl(), flywayStep, contributions, expandPause,
				history, states, migrationValidator, settings, properties, instance,
				poolMetadataProviders.orderedStream().toList());
	}

	@Bean
	@ConditionalOnMissingBean
	ContractRunner zdmContractRunner(ZdmDataSource dataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			FleetRegistry registry, DdlSettings settings, ZdmProperties properties, InstanceInfo instance,
			ObjectProvider<ContractPrecondition> contractPrecondition) {
		return ZdmEngineFactory.contractRunner(dataSource.get(), dataSource.ddl(), flywayStep, contributions, history,
				states, registry, settings, properties, instance,
				contractPrecondition.getIfAvailable(() -> ContractPrecondition.NONE));
	}

	@Bean
	@ConditionalOnMissingBean
	AbandonRunner zdmAbandonRunner(ZdmDataSource dataSource, FlywayStep flywayStep, LockSafeExecutor executor,
			DdlHistoryRepository history, MigrationStateRepository states, FleetRegistry registry,
			OperatorActionRepository operatorActions, DdlSettings settings, ZdmProperties properties,
			InstanceInfo instance) {
		return ZdmEngineFactory.abandonRunner(dataSource.get(), dataSource.ddl(), flywayStep, executor, history, states,
				registry, operatorActions, settings, properties, instance);
	}

	@Bean
	@ConditionalOnMissingBean
	@DependsOnDatabaseInitialization
	MigrationPlanner zdmMigrationPlanner(ZdmProperties properties, ZdmDataSource dataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			DdlSettings settings, BackfillService backfillService) {
		return new MigrationPlanner(migrations(properties, dataSource), dataSource.get(), flywayStep, contributions,
				history, states, settings, backfillService);
	}

	@Bean
	@ConditionalOnMissingBean
	FinalContractCheck zdmFinalContractCheck(ZdmDataSource dataSource, InstanceInfo instance,
			ContractCheckRepository contractChecks, BackfillRepository backfills, LockInspector lockInspector) {
		return ZdmEngineFactory.finalContractCheck(dataSource.get(), instance, contractChecks, backfills,
				lockInspector);
	}

	@Bean
	@ConditionalOnMissingBean
	ContractCheckRepository zdmContractCheckRepository(ZdmDataSource dataSource, ZdmProperties properties,
			ZdmTables tables) {
		return ZdmEngineFactory.contractCheckRepository(dataSource.get(), properties, tables);
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillRepository zdmBackfillRepository(ZdmDataSource dataSource, ZdmTables tables) {
		return new BackfillRepository(dataSource.get(), tables);
	}

	@Bean
	@ConditionalOnMissingBean
	OperatorActionRepository zdmOperatorActionRepository(ZdmDataSource dataSource, ZdmTables tables) {
		return new OperatorActionRepository(dataSource.get(), tables);
	}

	@Bean
	@ConditionalOnMissingBean
	DdlActivity zdmDdlActivity() {
		return new DdlActivity();
	}

	@Bean
	@ConditionalOnMissingBean
	HeldBackTracker zdmHeldBackTracker() {
		return new HeldBackTracker();
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillProgressSampler zdmBackfillProgressSampler(BackfillService backfillService) {
		return new BackfillProgressSampler(backfillService);
	}

	@Bean
	@ConditionalOnMissingBean
	DdlHistoryRepository zdmDdlHistoryRepository(ZdmDataSource dataSource, ZdmTables tables) {
		return new DdlHistoryRepository(dataSource.get(), tables);
	}

	@Bean
	@ConditionalOnMissingBean
	FleetRegistry zdmFleetRegistry(ZdmDataSource dataSource, ZdmTables tables) {
		return new FleetRegistry(dataSource.get(), tables);
	}

	@Bean
	@ConditionalOnMissingBean
	MigrationStateRepository zdmMigrationStateRepository(ZdmDataSource dataSource, ZdmTables tables) {
		return new MigrationStateRepository(dataSource.get(), tables);
	}

	@Bean
	@ConditionalOnMissingBean
	MigrationValidator zdmMigrationValidator(ZdmDataSource dataSource, ZdmProperties properties) {
		// the migrations on zdm's own data source that name it
		Map<String, String> named = new LinkedHashMap<>();
		properties.getMigrations().forEach((id, migration) -> {
			if (migration.getDataSource() != null) {
				named.put(id, migration.getDataSource());
			}
		});
		return ZdmEngineFactory.migrationValidator(dataSource.get(), named);
	}

	@Bean
	@ConditionalOnMissingBean
	@DependsOnDatabaseInitialization
	PhaseController zdmPhaseController(ZdmDataSource dataSource, FleetRegistry registry,
			MigrationStateRepository states, MigrationValidator migrationValidator, ZdmProperties properties,
			InstanceInfo instance, ObjectProvider<MigrationParticipant> participants, Environment environment,
			SameTableSyncTrigger syncTrigger) {
		MigrationPropertyNames.check(environment);
		return ZdmEngineFactory.phaseController(dataSource.get(), registry, states, migrationValidator, properties,
				instance, migrations(properties, dataSource), participants.orderedStream().toList(), syncTrigger);
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillParticipant zdmBackfillParticipant(ZdmDataSource dataSource, FleetRegistry registry,
			MigrationStateRepository states, LockInspector lockInspector,
			ReplicationLagInspector replicationLagInspector, ZdmProperties properties,
			ObjectProvider<BackfillThrottle> throttles, ObjectProvider<BackfillListener> listeners,
			ObjectProvider<ApplicationLatency> applicationLatency,
			ObjectProvider<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		return ZdmEngineFactory.backfillParticipant(dataSource.get(), registry, states, lockInspector,
				replicationLagInspector, properties, throttles.orderedStream().toList(),
				listeners.orderedStream().toList(), applicationLatency.getIfAvailable(),
				poolMetadataProviders.orderedStream().toList());
	}

	@Bean
	@ConditionalOnMissingBean
	SameTableSyncTrigger zdmSameTableSyncTrigger(ZdmDataSource dataSource) {
		return ZdmEngineFactory.sameTableSyncTrigger(dataSource.get());
	}

	@Bean
	@ConditionalOnMissingBean
	PreparedStatementCheck zdmPreparedStatementCheck(ZdmDataSource dataSource) {
		return new PreparedStatementCheck(dataSource.get());
	}

	@Bean
	@ConditionalOnMissingBean
	TransactionPoolingCheck zdmTransactionPoolingCheck(ZdmDataSource dataSource,
			ObjectProvider<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		return ZdmEngineFactory.transactionPoolingCheck(dataSource.get(),
				poolMetadataProviders.orderedStream().toList());
	}

	@Bean
	@ConditionalOnMissingBean
	DeclaredOperations zdmDeclaredOperations(ZdmDataSource dataSource, ResourceLoader resourceLoader) {
		return ZdmEngineFactory.declaredOperations(dataSource.get(), resourceLoader);
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillService zdmBackfillService(ZdmDataSource dataSource, ZdmTables tables) {
		return new JdbcBackfillService(dataSource.get(), tables);
	}

	@Bean
	@DependsOnDatabaseInitialization
	ZdmEngines zdmEngines(ZdmProperties properties, ZdmDataSource dataSource, ListableBeanFactory beanFactory,
			PhaseController zdmPhaseController, InstanceInfo instance, DdlSettings ddlSettings,
			ResourceLoader resourceLoader, ObjectProvider<DdlListener> ddlListeners,
			ObjectProvider<SchemaChangeContributor> contributors, ObjectProvider<BackfillThrottle> throttles,
			ObjectProvider<BackfillListener> backfillListeners, ObjectProvider<ApplicationLatency> applicationLatency,
			ObjectProvider<DataSourcePoolMetadataProvider> poolMetadataProviders, OwnPoolCalls ownCalls) {
		// zdmPhaseController is taken so that zdm's own engine starts first and stops
		// last
		return new ZdmEngines(properties, dataSource, beanFactory,
				new ZdmEngineFactory.Shared(properties, instance, ddlSettings, resourceLoader,
						ddlListeners.orderedStream().toList(), contributors.orderedStream().toList(),
						throttles.orderedStream().toList(), backfillListeners.orderedStream().toList(),
						applicationLatency.getIfAvailable(), poolMetadataProviders.orderedStream().toList(), ownCalls));
	}

	private static List<MigrationDefinition> migrations(ZdmProperties properties, ZdmDataSource dataSource) {
		return MigrationDefinitions.from(properties, dataSource.beanName(), true);
	}

	/**
	 * Makes the JPA {@code EntityManagerFactory} wait for the phase controller, so that
	 * Hibernate (and its {@code ddl-auto} schema validation) starts only once zdm has
	 * validated its migrations and run what it runs at start-up. Not when JPA itself
	 * initializes the database ({@code spring.jpa.defer-datasource-initialization=true}):
	 * zdm then runs after the {@code EntityManagerFactory}, as after any other database
	 * initializer.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(EntityManagerFactoryDependsOnPostProcessor.class)
	@ConditionalOnBooleanProperty(name = "spring.jpa.defer-datasource-initialization", havingValue = false,
			matchIfMissing = true)
	static class JpaDependencyConfiguration {

		@Bean
		static EntityManagerFactoryDependsOnPostProcessor zdmEntityManagerFactoryDependsOnPostProcessor() {
			return new EntityManagerFactoryDependsOnPostProcessor(PhaseController.class, ZdmEngines.class);
		}

	}

}
