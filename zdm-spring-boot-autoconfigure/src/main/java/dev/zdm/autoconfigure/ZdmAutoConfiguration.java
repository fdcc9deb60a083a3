package dev.zdm.autoconfigure;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.metadata.CompositeDataSourcePoolMetadataProvider;
import org.springframework.boot.jdbc.metadata.DataSourcePoolMetadata;
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
import dev.zdm.internal.backfill.BackfillListener;
import dev.zdm.internal.backfill.BackfillParticipant;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.BackfillRepository;
import dev.zdm.internal.backfill.ContractCheckRepository;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.AbandonSettings;
import dev.zdm.internal.ddl.ContractPrecondition;
import dev.zdm.internal.ddl.ContractRunner;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlListener;
import dev.zdm.internal.ddl.DdlScriptValidator;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.ExpandPause;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.ddl.FlywayStep;
import dev.zdm.internal.ddl.LockSafeExecutor;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.ddl.SchemaChangeContributions;
import dev.zdm.internal.ddl.declared.DeclaredOperations;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.UnsafeStatementChecker;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.FleetSettings;
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
	ZdmDataSource zdmDataSource(ZdmProperties properties, ListableBeanFactory beanFactory) {
		return ZdmDataSource.resolve(properties.getDataSource(), beanFactory);
	}

	@Bean
	@ConditionalOnMissingBean
	ZdmTables zdmTables(ZdmProperties properties) {
		return ZdmSettings.tables(properties.getSchema());
	}

	@Bean
	@ConditionalOnMissingBean
	LockInspector zdmLockInspector(ZdmDataSource dataSource, ZdmProperties properties) {
		return new LockInspector(dataSource.get(), properties.getLocks().isShowQueryLiterals());
	}

	@Bean
	@ConditionalOnMissingBean
	ReplicationLagInspector zdmReplicationLagInspector(ZdmDataSource dataSource) {
		return new ReplicationLagInspector(dataSource.get());
	}

	@Bean
	@ConditionalOnMissingBean
	DdlSettings zdmDdlSettings(ZdmProperties properties) {
		ZdmProperties.Ddl ddl = properties.getDdl();
		ZdmSettings.checkDdl(ddl);
		return DdlSettings.defaults()
			.withLockTimeout(ddl.getLockTimeout())
			.withStatementTimeout(ddl.getStatementTimeout())
			.withMaxAttempts(ddl.getMaxAttempts())
			.withBackoff(ddl.getInitialBackoff(), ddl.getMaxBackoff())
			.withJitter(ddl.getJitter());
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
		LockSafeExecutor executor = new LockSafeExecutor(dataSource.get(), settings, history, lockInspector);
		executor.setListener(DdlListener.of(listeners.orderedStream().toList()));
		return executor;
	}

	@Bean
	@ConditionalOnMissingBean
	FlywayStep zdmFlywayStep(ZdmDataSource dataSource, LockSafeExecutor executor, DdlHistoryRepository history,
			ResourceLoader resourceLoader) {
		return new FlywayStep(dataSource.get(), executor, history, new DdlScriptLoader(resourceLoader));
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
		DdlScriptValidator validator = new DdlScriptValidator(flywayStep,
				new UnsafeStatementChecker(new DdlCatalog(dataSource.get())), migrationValidator);
		validator.setRequireAllowReason(properties.getDdl().isRequireAllowReason());
		return validator;
	}

	@Bean
	@ConditionalOnMissingBean
	ExpandPause zdmExpandPause(ZdmDataSource dataSource, DdlHistoryRepository history, InstanceInfo instance) {
		return new ExpandPause(dataSource.get(), history, instance);
	}

	@Bean
	@ConditionalOnMissingBean
	ExpandRunner zdmExpandRunner(ZdmDataSource dataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, ExpandPause expandPause, DdlHistoryRepository history,
			MigrationStateRepository states, MigrationValidator migrationValidator, DdlSettings settings,
			ZdmProperties properties, InstanceInfo instance) {
		ZdmProperties.Ddl ddl = properties.getDdl();
		Set<String> paused = properties.getMigrations()
			.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().isExpandPaused())
			.map(Map.Entry::getKey)
			.collect(Collectors.toSet());
		ExpandSettings expandSettings = new ExpandSettings(ddl.isExpandAtStartup(), ddl.getExpandAlertAfter(), paused);
		return new ExpandRunner(dataSource.get(), flywayStep, contributions, expandPause, history, states,
				migrationValidator, settings, expandSettings, instance);
	}

	@Bean
	@ConditionalOnMissingBean
	ContractRunner zdmContractRunner(ZdmDataSource dataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			FleetRegistry registry, DdlSettings settings, ZdmProperties properties, InstanceInfo instance,
			ObjectProvider<ContractPrecondition> contractPrecondition) {
		return new ContractRunner(dataSource.get(), flywayStep, contributions, history, states, registry, settings,
				instance, properties.getFleet().getTimeout(),
				contractPrecondition.getIfAvailable(() -> ContractPrecondition.NONE));
	}

	@Bean
	@ConditionalOnMissingBean
	AbandonRunner zdmAbandonRunner(ZdmDataSource dataSource, FlywayStep flywayStep, LockSafeExecutor executor,
			DdlHistoryRepository history, MigrationStateRepository states, FleetRegistry registry,
			OperatorActionRepository operatorActions, DdlSettings settings, ZdmProperties properties,
			InstanceInfo instance) {
		Map<String, String> reasons = new HashMap<>();
		Map<String, List<String>> locations = new HashMap<>();
		properties.getMigrations().forEach((id, migration) -> {
			if (migration.getAbandonReason() != null) {
				reasons.put(id, migration.getAbandonReason());
			}
			locations.put(id, migration.getAbandon());
		});
		return new AbandonRunner(dataSource.get(), flywayStep, executor, history, states, registry, operatorActions,
				settings, new AbandonSettings(reasons, locations), instance, properties.getFleet().getTimeout());
	}

	@Bean
	@ConditionalOnMissingBean
	@DependsOnDatabaseInitialization
	MigrationPlanner zdmMigrationPlanner(ZdmProperties properties, ZdmDataSource dataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			DdlSettings settings, BackfillService backfillService) {
		return new MigrationPlanner(MigrationDefinitions.from(properties), dataSource.get(), flywayStep, contributions,
				history, states, settings, backfillService);
	}

	@Bean
	@ConditionalOnMissingBean
	FinalContractCheck zdmFinalContractCheck(ZdmDataSource dataSource, InstanceInfo instance,
			ContractCheckRepository contractChecks, BackfillRepository backfills) {
		return new FinalContractCheck(dataSource.get(), instance.instanceId(), contractChecks, backfills);
	}

	@Bean
	@ConditionalOnMissingBean
	ContractCheckRepository zdmContractCheckRepository(ZdmDataSource dataSource, ZdmProperties properties,
			ZdmTables tables) {
		return new ContractCheckRepository(dataSource.get(), properties.getLocks().isShowQueryLiterals(), tables);
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
	MigrationValidator zdmMigrationValidator(ZdmDataSource dataSource) {
		return new MigrationValidator(new DatabaseCatalog(dataSource.get()));
	}

	@Bean
	@ConditionalOnMissingBean
	@DependsOnDatabaseInitialization
	PhaseController zdmPhaseController(ZdmDataSource dataSource, FleetRegistry registry,
			MigrationStateRepository states, MigrationValidator migrationValidator, ZdmProperties properties,
			InstanceInfo instance, ObjectProvider<MigrationParticipant> participants) {
		ZdmProperties.Fleet fleet = properties.getFleet();
		ZdmSettings.checkFleet(fleet);
		List<MigrationDefinition> migrations = MigrationDefinitions.from(properties);
		FleetSettings settings = FleetSettings.defaults()
			.withHeartbeat(fleet.getHeartbeatInterval(), fleet.getTimeout())
			.withJoinTimeout(fleet.getJoinTimeout())
			.withRetention(fleet.getRetention());
		return new PhaseController(dataSource.get(), registry, states, migrationValidator, migrations, instance,
				settings, participants.orderedStream().toList());
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillParticipant zdmBackfillParticipant(ZdmDataSource dataSource, FleetRegistry registry,
			MigrationStateRepository states, LockInspector lockInspector,
			ReplicationLagInspector replicationLagInspector, ZdmProperties properties,
			ObjectProvider<BackfillThrottle> throttles, ObjectProvider<BackfillListener> listeners,
			ObjectProvider<ApplicationLatency> applicationLatency) {
		Set<String> clearOverrides = properties.getMigrations()
			.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().getBackfill().isClearOverrides())
			.map(Map.Entry::getKey)
			.collect(Collectors.toSet());
		return new BackfillParticipant(dataSource.get(), registry, states, lockInspector, replicationLagInspector,
				properties.getFleet().getTimeout(), throttles.orderedStream().toList(),
				BackfillListener.of(listeners.orderedStream().toList()), applicationLatency.getIfAvailable(),
				properties.getFleet().getMaxConcurrentBackfills(), clearOverrides);
	}

	@Bean
	@ConditionalOnMissingBean
	SameTableSyncTrigger zdmSameTableSyncTrigger(ZdmDataSource dataSource) {
		return new SameTableSyncTrigger(dataSource.get());
	}

	@Bean
	@ConditionalOnMissingBean
	TransactionPoolingCheck zdmTransactionPoolingCheck(ZdmDataSource dataSource,
			ObjectProvider<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		DataSourcePoolMetadata pool = new CompositeDataSourcePoolMetadataProvider(
				poolMetadataProviders.orderedStream().toList())
			.getDataSourcePoolMetadata(dataSource.get());
		return new TransactionPoolingCheck(dataSource.get(), (pool != null) ? pool.getMax() : null);
	}

	@Bean
	@ConditionalOnMissingBean
	DeclaredOperations zdmDeclaredOperations(ZdmDataSource dataSource, ResourceLoader resourceLoader) {
		return new DeclaredOperations(dataSource.get(), resourceLoader);
	}

	@Bean
	@ConditionalOnMissingBean
	BackfillService zdmBackfillService(ZdmDataSource dataSource, ZdmTables tables) {
		return new JdbcBackfillService(dataSource.get(), tables);
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
			return new EntityManagerFactoryDependsOnPostProcessor(PhaseController.class);
		}

	}

}
