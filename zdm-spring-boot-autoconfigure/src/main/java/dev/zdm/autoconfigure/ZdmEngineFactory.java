package dev.zdm.autoconfigure;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.jdbc.metadata.CompositeDataSourcePoolMetadataProvider;
import org.springframework.boot.jdbc.metadata.DataSourcePoolMetadata;
import org.springframework.boot.jdbc.metadata.DataSourcePoolMetadataProvider;
import org.springframework.core.annotation.AnnotationAwareOrderComparator;
import org.springframework.core.io.ResourceLoader;

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
 * Builds zdm's engine on one {@link DataSource}: the bean methods of
 * {@link ZdmAutoConfiguration} build the engine of zdm's own data source with it, one
 * collaborator per bean, and {@link ZdmEngines} builds with it, in one go, the engine of
 * each other data source that migrations name.
 */
final class ZdmEngineFactory {

	private ZdmEngineFactory() {
	}

	/**
	 * Build, without starting it, the whole engine of a data source other than zdm's own.
	 * It shares the instance, the DDL settings and the extension points with zdm's
	 * engine, and has everything else of its own.
	 * @param name the name of the data source's bean
	 * @param application the data source (zdm's engine counts its own calls on it:
	 * {@link OwnPoolCalls})
	 * @param migrations the migrations on it
	 * @param shared what the engines share
	 * @return the engine
	 */
	static ZdmEngine build(String name, DataSource application, List<MigrationDefinition> migrations, Shared shared) {
		DataSource dataSource = shared.ownCalls().counting(application);
		ZdmProperties properties = shared.properties();
		ZdmTables tables = tables(properties);
		LockInspector lockInspector = lockInspector(dataSource, properties);
		ReplicationLagInspector replicationLagInspector = new ReplicationLagInspector(dataSource);
		LockFiguresSampler lockFiguresSampler = new LockFiguresSampler(lockInspector);
		DdlHistoryRepository history = new DdlHistoryRepository(dataSource, tables);
		FleetRegistry registry = new FleetRegistry(dataSource, tables);
		MigrationStateRepository states = new MigrationStateRepository(dataSource, tables);
		MigrationValidator migrationValidator = migrationValidator(dataSource,
				migrations.stream().collect(Collectors.toMap(MigrationDefinition::id, (migration) -> name)));
		OperatorActionRepository operatorActions = new OperatorActionRepository(dataSource, tables);
		BackfillRepository backfills = new BackfillRepository(dataSource, tables);
		ContractCheckRepository contractChecks = contractCheckRepository(dataSource, properties, tables);
		BackfillService backfillService = new JdbcBackfillService(dataSource, tables);
		DdlActivity ddlActivity = new DdlActivity();
		// zdm's own DdlActivity reports zdm's own data source only
		List<DdlListener> ddlListeners = new ArrayList<>(
				shared.ddlListeners().stream().filter((listener) -> !(listener instanceof DdlActivity)).toList());
		ddlListeners.add(ddlActivity);
		LockSafeExecutor executor = lockSafeExecutor(dataSource, shared.ddlSettings(), history, lockInspector,
				ddlListeners);
		FlywayStep flywayStep = flywayStep(dataSource, executor, history, shared.resourceLoader());
		DeclaredOperations declaredOperations = new DeclaredOperations(dataSource, shared.resourceLoader());
		SameTableSyncTrigger syncTrigger = new SameTableSyncTrigger(dataSource);
		// zdm's own declared operations and sync trigger work on zdm's own data source:
		// this engine has its own in their place
		List<SchemaChangeContributor> contributors = shared.contributors()
			.stream()
			.<SchemaChangeContributor>map((contributor) -> {
				if (contributor instanceof DeclaredOperations) {
					return declaredOperations;
				}
				return (contributor instanceof SameTableSyncTrigger) ? syncTrigger : contributor;
			})
			.toList();
		SchemaChangeContributions contributions = new SchemaChangeContributions(contributors, executor);
		ExpandPause expandPause = new ExpandPause(dataSource, history, shared.instance());
		ExpandRunner expandRunner = expandRunner(dataSource, dataSource, flywayStep, contributions, expandPause,
				history, states, migrationValidator, shared.ddlSettings(), properties, shared.instance(),
				shared.poolMetadataProviders());
		FinalContractCheck finalContractCheck = finalContractCheck(dataSource, shared.instance(), contractChecks,
				backfills, lockInspector);
		ContractRunner contractRunner = contractRunner(dataSource, dataSource, flywayStep, contributions, history,
				states, registry, shared.ddlSettings(), properties, shared.instance(), finalContractCheck);
		AbandonRunner abandonRunner = abandonRunner(dataSource, dataSource, flywayStep, executor, history, states,
				registry, operatorActions, shared.ddlSettings(), properties, shared.instance());
		MigrationPlanner planner = new MigrationPlanner(migrations, dataSource, flywayStep, contributions, history,
				states, shared.ddlSettings(), backfillService);
		BackfillParticipant backfillParticipant = backfillParticipant(dataSource, registry, states, lockInspector,
				replicationLagInspector, properties, shared.throttles(), shared.backfillListeners(),
				shared.applicationLatency(), shared.poolMetadataProviders());
		BackfillProgressSampler backfillProgressSampler = new BackfillProgressSampler(backfillService);
		HeldBackTracker heldBackTracker = new HeldBackTracker();
		// the same participants as zdm's own engine has as beans, in the same order
		List<MigrationParticipant> participants = new ArrayList<>(List.of(lockFiguresSampler, declaredOperations,
				ddlScriptValidator(dataSource, flywayStep, migrationValidator, properties), expandRunner,
				finalContractCheck, contractRunner, abandonRunner, backfillParticipant, backfillProgressSampler,
				heldBackTracker, transactionPoolingCheck(dataSource, shared.poolMetadataProviders())));
		AnnotationAwareOrderComparator.sort(participants);
		PhaseController controller = phaseController(dataSource, registry, states, migrationValidator, properties,
				shared.instance(), migrations, participants, syncTrigger);
		return new ZdmEngine(name, dataSource, tables, controller, states, lockFiguresSampler, backfillService, history,
				operatorActions, expandRunner, finalContractCheck, abandonRunner, planner, backfillProgressSampler,
				ddlActivity, heldBackTracker,
				List.of(backfillParticipant, abandonRunner, contractRunner, expandRunner, expandPause, executor));
	}

	static ZdmTables tables(ZdmProperties properties) {
		return ZdmSettings.tables(properties.getSchema());
	}

	static LockInspector lockInspector(DataSource dataSource, ZdmProperties properties) {
		return new LockInspector(dataSource, properties.getLocks().isShowQueryLiterals());
	}

	static DdlSettings ddlSettings(ZdmProperties properties) {
		ZdmProperties.Ddl ddl = properties.getDdl();
		ZdmSettings.checkDdl(ddl);
		return DdlSettings.defaults()
			.withLockTimeout(ddl.getLockTimeout())
			.withStatementTimeout(ddl.getStatementTimeout())
			.withMaxAttempts(ddl.getMaxAttempts())
			.withBackoff(ddl.getInitialBackoff(), ddl.getMaxBackoff())
			.withJitter(ddl.getJitter());
	}

	static LockSafeExecutor lockSafeExecutor(DataSource dataSource, DdlSettings settings, DdlHistoryRepository history,
			LockInspector lockInspector, List<DdlListener> listeners) {
		LockSafeExecutor executor = new LockSafeExecutor(dataSource, settings, history, lockInspector);
		executor.setListener(DdlListener.of(listeners));
		return executor;
	}

	static FlywayStep flywayStep(DataSource dataSource, LockSafeExecutor executor, DdlHistoryRepository history,
			ResourceLoader resourceLoader) {
		return new FlywayStep(dataSource, executor, history, new DdlScriptLoader(resourceLoader));
	}

	static DdlScriptValidator ddlScriptValidator(DataSource dataSource, FlywayStep flywayStep,
			MigrationValidator migrationValidator, ZdmProperties properties) {
		DdlScriptValidator validator = new DdlScriptValidator(flywayStep,
				new UnsafeStatementChecker(new DdlCatalog(dataSource)), migrationValidator);
		validator.setRequireAllowReason(properties.getDdl().isRequireAllowReason());
		return validator;
	}

	static ExpandRunner expandRunner(DataSource dataSource, DataSource ddlDataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, ExpandPause expandPause, DdlHistoryRepository history,
			MigrationStateRepository states, MigrationValidator migrationValidator, DdlSettings settings,
			ZdmProperties properties, InstanceInfo instance,
			List<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		ZdmProperties.Ddl ddl = properties.getDdl();
		Set<String> paused = properties.getMigrations()
			.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().isExpandPaused())
			.map(Map.Entry::getKey)
			.collect(Collectors.toSet());
		ExpandSettings expandSettings = new ExpandSettings(ddl.isExpandAtStartup(), ddl.getExpandAlertAfter(), paused,
				poolSize(dataSource, poolMetadataProviders));
		return new ExpandRunner(ddlDataSource, flywayStep, contributions, expandPause, history, states,
				migrationValidator, settings, expandSettings, instance);
	}

	static ContractRunner contractRunner(DataSource dataSource, DataSource ddlDataSource, FlywayStep flywayStep,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			FleetRegistry registry, DdlSettings settings, ZdmProperties properties, InstanceInfo instance,
			ContractPrecondition contractPrecondition) {
		return new ContractRunner(dataSource, ddlDataSource, flywayStep, contributions, history, states, registry,
				settings, instance, properties.getFleet().getTimeout(), contractPrecondition);
	}

	static AbandonRunner abandonRunner(DataSource dataSource, DataSource ddlDataSource, FlywayStep flywayStep,
			LockSafeExecutor executor, DdlHistoryRepository history, MigrationStateRepository states,
			FleetRegistry registry, OperatorActionRepository operatorActions, DdlSettings settings,
			ZdmProperties properties, InstanceInfo instance) {
		Map<String, String> reasons = new HashMap<>();
		Map<String, List<String>> locations = new HashMap<>();
		properties.getMigrations().forEach((id, migration) -> {
			if (migration.getAbandonReason() != null) {
				reasons.put(id, migration.getAbandonReason());
			}
			locations.put(id, migration.getAbandon());
		});
		return new AbandonRunner(dataSource, ddlDataSource, flywayStep, executor, history, states, registry,
				operatorActions, settings, new AbandonSettings(reasons, locations), instance,
				properties.getFleet().getTimeout());
	}

	static FinalContractCheck finalContractCheck(DataSource dataSource, InstanceInfo instance,
			ContractCheckRepository contractChecks, BackfillRepository backfills, LockInspector lockInspector) {
		return new FinalContractCheck(dataSource, instance.instanceId(), contractChecks, backfills, lockInspector,
				new DatabaseCatalog(dataSource));
	}

	static ContractCheckRepository contractCheckRepository(DataSource dataSource, ZdmProperties properties,
			ZdmTables tables) {
		return new ContractCheckRepository(dataSource, properties.getLocks().isShowQueryLiterals(), tables);
	}

	static MigrationValidator migrationValidator(DataSource dataSource, Map<String, String> namedDataSources) {
		return new MigrationValidator(new DatabaseCatalog(dataSource), namedDataSources);
	}

	static PhaseController phaseController(DataSource dataSource, FleetRegistry registry,
			MigrationStateRepository states, MigrationValidator migrationValidator, ZdmProperties properties,
			InstanceInfo instance, List<MigrationDefinition> migrations, List<MigrationParticipant> participants,
			SameTableSyncTrigger syncTrigger) {
		ZdmProperties.Fleet fleet = properties.getFleet();
		ZdmSettings.checkFleet(fleet);
		FleetSettings settings = FleetSettings.defaults()
			.withHeartbeat(fleet.getHeartbeatInterval(), fleet.getTimeout())
			.withJoinTimeout(fleet.getJoinTimeout())
			.withRetention(fleet.getRetention());
		return new PhaseController(dataSource, registry, states, migrationValidator, migrations, instance, settings,
				participants, syncTrigger::keepsNewSideInSync);
	}

	static BackfillParticipant backfillParticipant(DataSource dataSource, FleetRegistry registry,
			MigrationStateRepository states, LockInspector lockInspector,
			ReplicationLagInspector replicationLagInspector, ZdmProperties properties, List<BackfillThrottle> throttles,
			List<BackfillListener> listeners, @Nullable ApplicationLatency applicationLatency,
			List<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		Set<String> clearOverrides = properties.getMigrations()
			.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().getBackfill().isClearOverrides())
			.map(Map.Entry::getKey)
			.collect(Collectors.toSet());
		return new BackfillParticipant(dataSource, registry, states, lockInspector, replicationLagInspector,
				properties.getFleet().getTimeout(), throttles, BackfillListener.of(listeners), applicationLatency,
				properties.getFleet().getMaxConcurrentBackfills(), clearOverrides,
				poolSize(dataSource, poolMetadataProviders));
	}

	static TransactionPoolingCheck transactionPoolingCheck(DataSource dataSource,
			List<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		return new TransactionPoolingCheck(dataSource, poolSize(dataSource, poolMetadataProviders));
	}

	// the most connections the pool opens, if the pool is one Spring Boot knows
	private static @Nullable Integer poolSize(DataSource dataSource,
			List<DataSourcePoolMetadataProvider> poolMetadataProviders) {
		DataSourcePoolMetadata pool = new CompositeDataSourcePoolMetadataProvider(poolMetadataProviders)
			.getDataSourcePoolMetadata(dataSource);
		return (pool != null) ? pool.getMax() : null;
	}

	static DeclaredOperations declaredOperations(DataSource dataSource, ResourceLoader resourceLoader) {
		return new DeclaredOperations(dataSource, resourceLoader);
	}

	static SameTableSyncTrigger sameTableSyncTrigger(DataSource dataSource) {
		return new SameTableSyncTrigger(dataSource);
	}

	/**
	 * What the engines of all data sources share: the instance, the settings, and the
	 * extension points, resolved once.
	 *
	 * @param properties zdm's properties
	 * @param instance this instance
	 * @param ddlSettings the DDL settings
	 * @param resourceLoader the loader of the scripts
	 * @param ddlListeners the DDL listeners
	 * @param contributors the schema change contributors
	 * @param throttles the backfill throttles
	 * @param backfillListeners the backfill listeners
	 * @param applicationLatency the application's latency, if measured
	 * @param poolMetadataProviders the providers of connection pool metadata
	 * @param ownCalls where zdm's own calls on the applications' pools are counted
	 */
	record Shared(ZdmProperties properties, InstanceInfo instance, DdlSettings ddlSettings,
			ResourceLoader resourceLoader, List<DdlListener> ddlListeners, List<SchemaChangeContributor> contributors,
			List<BackfillThrottle> throttles, List<BackfillListener> backfillListeners,
			@Nullable ApplicationLatency applicationLatency, List<DataSourcePoolMetadataProvider> poolMetadataProviders,
			OwnPoolCalls ownCalls) {

	}

}
