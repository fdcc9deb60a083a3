package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.Ordered;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.core.io.ResourceLoader;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.ClassUtils;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.internal.ddl.script.UnsafeStatementChecker;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseLimit;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Runs each migration's expand and contract DDL through Flyway and the
 * {@link LockSafeExecutor}: checks the scripts for unsafe operations before anything is
 * written, runs the expand scripts and the {@link SchemaChangeContributor contributors}'
 * expand statements in the background while the instance serves through the old schema
 * (holding the phase at {@code expand} until they are done), and runs the contract once,
 * on one instance, when every live instance is at {@code contract}.
 * <p>
 * The expand runs on one instance of the fleet at a time: every instance that finds it
 * not done tries for the migration's DDL lock, and one that gets it runs the statements
 * that have not run yet, retrying each until it gets its lock; the others wait, and take
 * over if that instance dies. With {@link ExpandSettings#atStartup()} it runs at start-up
 * instead, before the instance serves. The operator may pause it for the whole fleet
 * ({@link #pauseExpand(String)}): no instance starts or takes it over until it is
 * resumed, and the instance running it stops at the next safe point (a statement waiting
 * for its lock is cancelled; one that has its locks, such as a concurrent index build,
 * runs to its end).
 * <p>
 * Each step of each migration has a Flyway of its own whose history table,
 * {@code zdm_ddl_<step>_<migration>}, is zdm's; Flyway orders the scripts, validates the
 * checksums of those already applied and records each one, and hands every statement of a
 * script to the executor. The contract is claimed by marking the migration contracted
 * under the fleet's lock, after checking that every live instance runs {@code contract}:
 * from then on every instance runs {@code contract} and one that requests an earlier
 * phase is refused at start-up. The contract's progress is recorded per statement, so an
 * instance that takes over after the claimer died resumes it.
 */
public class ExpandContractRunner implements MigrationParticipant, Ordered, DisposableBean {

	/**
	 * The order of the runner among the participants: first, so that the new schema
	 * exists for the others.
	 */
	public static final int ORDER = 0;

	private static final Log logger = LogFactory.getLog(ExpandContractRunner.class);

	private static final String TRANSACTIONAL_LOCK = "flyway.postgresql.transactional.lock";

	private final DataSource dataSource;

	private final InstanceInfo instance;

	private final Duration fleetTimeout;

	private final List<SchemaChangeContributor> contributors;

	private final LockSafeExecutor executor;

	private final DdlScriptLoader loader;

	private final UnsafeStatementChecker checker;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final FleetRegistry registry;

	private final TransactionTemplate transactionTemplate;

	private final ExecutorService contractExecutor = Executors.newSingleThreadExecutor((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-ddl-contract");
		thread.setDaemon(true);
		return thread;
	});

	private final Set<String> contractsRunning = ConcurrentHashMap.newKeySet();

	private final Set<String> contractsDone = ConcurrentHashMap.newKeySet();

	private final Map<String, Instant> contractRetryAfter = new ConcurrentHashMap<>();

	private static final AtomicInteger expandThreads = new AtomicInteger();

	private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

	private final ExpandSettings expandSettings;

	private final Map<String, ExpandJob> expands = new ConcurrentHashMap<>();

	private final ExecutorService expandExecutor = Executors.newCachedThreadPool((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-ddl-expand-" + expandThreads.incrementAndGet());
		thread.setDaemon(true);
		return thread;
	});

	private final ScheduledExecutorService pauseWatcher = Executors.newSingleThreadScheduledExecutor((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-ddl-expand-pause-watch");
		thread.setDaemon(true);
		return thread;
	});

	private final RandomGenerator random = RandomGenerator.getDefault();

	private volatile ContractPrecondition contractPrecondition = ContractPrecondition.NONE;

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
	 * @param settings the lock timeout and retry settings
	 * @param expandSettings when the expand runs
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 * @param resourceLoader where scripts are loaded from
	 */
	public ExpandContractRunner(DataSource dataSource, DdlSettings settings, ExpandSettings expandSettings,
			InstanceInfo instance, Duration fleetTimeout, List<SchemaChangeContributor> contributors,
			ResourceLoader resourceLoader) {
		this(dataSource, settings, expandSettings, instance, fleetTimeout, contributors, resourceLoader,
				new LockInspector(dataSource));
	}

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
	 * @param settings the lock timeout and retry settings
	 * @param expandSettings when the expand runs
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 * @param resourceLoader where scripts are loaded from
	 * @param lockInspector where the sessions that block a DDL statement are read from
	 */
	public ExpandContractRunner(DataSource dataSource, DdlSettings settings, ExpandSettings expandSettings,
			InstanceInfo instance, Duration fleetTimeout, List<SchemaChangeContributor> contributors,
			ResourceLoader resourceLoader, LockInspector lockInspector) {
		this(dataSource,
				new LockSafeExecutor(dataSource, settings, new DdlHistoryRepository(dataSource), lockInspector),
				expandSettings, instance, fleetTimeout, contributors, resourceLoader);
	}

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
	 * @param executor runs each statement; the runner reads and records the DDL's
	 * progress in the executor's history, and stops the executor when it is destroyed
	 * @param expandSettings when the expand runs
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 * @param resourceLoader where scripts are loaded from
	 */
	public ExpandContractRunner(DataSource dataSource, LockSafeExecutor executor, ExpandSettings expandSettings,
			InstanceInfo instance, Duration fleetTimeout, List<SchemaChangeContributor> contributors,
			ResourceLoader resourceLoader) {
		this.dataSource = dataSource;
		this.expandSettings = expandSettings;
		this.instance = instance;
		this.fleetTimeout = fleetTimeout;
		this.contributors = List.copyOf(contributors);
		this.history = executor.history();
		this.executor = executor;
		this.loader = new DdlScriptLoader(resourceLoader);
		this.checker = new UnsafeStatementChecker(new DdlCatalog(dataSource));
		this.states = new MigrationStateRepository(dataSource);
		this.registry = new FleetRegistry(dataSource);
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
	}

	/**
	 * Create a runner that loads scripts with a default resource loader.
	 * @param dataSource the application's data source
	 * @param settings the lock timeout and retry settings
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 */
	public ExpandContractRunner(DataSource dataSource, DdlSettings settings, InstanceInfo instance,
			Duration fleetTimeout, List<SchemaChangeContributor> contributors) {
		this(dataSource, settings, ExpandSettings.defaults(), instance, fleetTimeout, contributors,
				new DefaultResourceLoader());
	}

	/**
	 * Create a runner that loads scripts with a default resource loader.
	 * @param dataSource the application's data source
	 * @param settings the lock timeout and retry settings
	 * @param expandSettings when the expand runs
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 */
	public ExpandContractRunner(DataSource dataSource, DdlSettings settings, ExpandSettings expandSettings,
			InstanceInfo instance, Duration fleetTimeout, List<SchemaChangeContributor> contributors) {
		this(dataSource, settings, expandSettings, instance, fleetTimeout, contributors, new DefaultResourceLoader());
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Set the listener told about each statement's attempts, to measure and trace them.
	 * @param listener the listener
	 */
	public void setListener(DdlListener listener) {
		this.executor.setListener(listener);
	}

	/**
	 * Set what must hold before a contract is claimed, such as a final check that old and
	 * new agree.
	 * @param contractPrecondition the precondition
	 */
	public void setContractPrecondition(ContractPrecondition contractPrecondition) {
		this.contractPrecondition = contractPrecondition;
	}

	/**
	 * Return the DDL history, to read a migration's {@link DdlStatus}.
	 * @return the history
	 */
	public DdlHistoryRepository history() {
		return this.history;
	}

	/**
	 * Load the migration's scripts and check those that have not run for unsafe
	 * operations. Only reads.
	 */
	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		if (!state.isContracted()) {
			for (String location : migration.expandLocations()) {
				if (this.loader.load(migration.id(), DdlStep.EXPAND, List.of(location)).isEmpty()) {
					throw emptyLocation(migration, DdlStep.EXPAND, location);
				}
			}
		}
		for (String location : migration.contractLocations()) {
			if (!this.loader.load(migration.id(), DdlStep.CONTRACT, List.of(location)).isEmpty()) {
				continue;
			}
			if (migration.requestedPhase() == Phase.CONTRACT && !state.isContracted()) {
				throw emptyLocation(migration, DdlStep.CONTRACT, location);
			}
			logger.warn("zdm: migration '" + migration.id() + "': the contract location '" + location
					+ "' does not exist or holds no scripts; an instance that requests phase contract is refused "
					+ "at start-up until it does");
		}
		List<DdlScript> expand = state.isContracted() ? List.of() : pending(migration, DdlStep.EXPAND);
		List<DdlScript> contract = pending(migration, DdlStep.CONTRACT);
		List<UnsafeStatement> findings = this.checker.check(expand, contract, migration.allowedUnsafe());
		if (!findings.isEmpty()) {
			throw unsafe(migration, findings);
		}
		if (!state.isContracted()) {
			List<DdlScript> scripts = this.loader.load(migration.id(), DdlStep.EXPAND, migration.expandLocations());
			ScriptObjects objects = ScriptObjects.of(scripts);
			Map<String, @Nullable String> added = new LinkedHashMap<>();
			TableName newTable = (migration.targetTable() != null) ? migration.targetTable() : migration.table();
			objects.addedColumns(newTable.table().name())
				.forEach((column) -> added.putIfAbsent(column.column(), column.type()));
			new MigrationValidator(new DatabaseCatalog(this.dataSource)).validateWithExpand(migration, added,
					scripts.stream().map(DdlScript::name).toList(), objects.hasDynamicStatements());
		}
	}

	/**
	 * Refuse two migrations whose scripts create the same object or add the same column.
	 * Only reads.
	 */
	@Override
	public void validateAll(List<MigrationDefinition> migrations) {
		Map<String, String> owners = new LinkedHashMap<>();
		for (MigrationDefinition migration : migrations) {
			List<DdlScript> scripts = new ArrayList<>(
					this.loader.load(migration.id(), DdlStep.EXPAND, migration.expandLocations()));
			scripts.addAll(this.loader.load(migration.id(), DdlStep.CONTRACT, migration.contractLocations()));
			ScriptObjects objects = ScriptObjects.of(scripts);
			Map<String, String> own = new LinkedHashMap<>();
			objects.created()
				.forEach((object) -> own.putIfAbsent(object.kind() + " " + object.name(), object.script()));
			objects.addedColumns()
				.forEach((column) -> own.putIfAbsent("column " + column.table() + "." + column.column(),
						column.script()));
			for (Map.Entry<String, String> object : own.entrySet()) {
				String owner = "migration '" + migration.id() + "' (script " + object.getValue() + ")";
				String other = owners.putIfAbsent(object.getKey(), owner);
				if (other != null) {
					throw new ZdmConfigurationException(migration.id(),
							"the scripts of two migrations create the same " + object.getKey() + ": " + other + " and "
									+ owner + "; nothing has run",
							"Create each object in one migration only: remove it from the scripts of one of them, or "
									+ "give it another name.");
				}
			}
		}
	}

	/**
	 * Find out whether the expand is done (reading only) and, if it is not, start it in
	 * the background; or, with {@link ExpandSettings#atStartup()}, run it now and wait
	 * for it.
	 * @throws DdlExecutionException at start-up only, if a statement fails or times out
	 * on every attempt
	 * @throws DdlStoppedException at start-up only, if the start-up thread is
	 * interrupted, as by a shutdown signal: the statement in flight is cancelled and
	 * nothing of it is applied
	 */
	@Override
	public void beforeJoin(MigrationDefinition migration, MigrationState state) {
		if (state.isContracted()) {
			return;
		}
		String id = migration.id();
		ExpandJob job = new ExpandJob(migration, !this.expandSettings.atStartup());
		this.expands.put(id, job);
		if (isExpandDone(migration)) {
			job.done();
			return;
		}
		if (this.expandSettings.atStartup()) {
			DdlPause pause = this.history.findPause(id, DdlStep.EXPAND);
			if (pause != null) {
				throw new ZdmConfigurationException(id,
						"its expand DDL is not done and is paused for the whole fleet (" + pause.describe()
								+ "), so this instance, which runs it at start-up (zdm.ddl.expand-at-startup=true), "
								+ "cannot start; nothing has run",
						"Resume the expand with POST /actuator/zdm/" + id + "/expand/resume on a running instance "
								+ "(or DELETE FROM zdm_ddl_pause WHERE migration_id = '" + id
								+ "'), then start again; or start without zdm.ddl.expand-at-startup.");
			}
			expandAtStartup(job);
			return;
		}
		if (this.expandSettings.paused().contains(id)) {
			job.state(ExpandProgress.State.PAUSED);
			logger.warn("zdm: the expand DDL of migration '" + id + "' is paused on this instance " + "(zdm.migrations."
					+ id + ".expand-paused); the migration stays at expand until it is done");
			return;
		}
		logger.info("zdm: migration '" + id + "': the expand DDL runs in the background; the instance serves "
				+ "through the old schema and stays at expand until it is done");
		job.future = this.expandExecutor.submit(() -> expandInBackground(job));
		long poll = lockPollInterval().toMillis();
		job.pauseWatch = this.pauseWatcher.scheduleWithFixedDelay(() -> watchPause(job), poll, poll,
				TimeUnit.MILLISECONDS);
	}

	/**
	 * Pause a migration's expand DDL for the whole fleet, from any instance: no instance
	 * starts or takes it over until it is {@link #resumeExpand(String) resumed}, and the
	 * instance running it stops within about a second: a statement waiting for its lock
	 * (or between attempts) is cancelled and recorded as paused, a statement that has its
	 * locks (a concurrent index build, a constraint validation) runs to its end and the
	 * expand stops before the next one.
	 * @param migrationId the migration
	 * @return where the expand stands on this instance
	 * @throws IllegalStateException if the expand is done
	 */
	public ExpandProgress pauseExpand(String migrationId) {
		ExpandJob job = this.expands.get(migrationId);
		if (job == null || job.isDone()) {
			throw new IllegalStateException("The expand DDL of migration '" + migrationId
					+ "' is done; there is nothing to pause. Pause the backfill with POST /actuator/zdm/" + migrationId
					+ "/pause instead if that is what you meant");
		}
		DdlPause pause = this.history.pause(migrationId, DdlStep.EXPAND, this.instance.instanceId());
		job.pausedBy(pause);
		return job.progress();
	}

	/**
	 * Resume a migration's expand DDL paused by {@link #pauseExpand(String)}: the
	 * instances that wait for it start its next attempt within about a second.
	 * @param migrationId the migration
	 * @return where the expand stands on this instance
	 * @throws IllegalStateException if the expand is done and not paused
	 */
	public ExpandProgress resumeExpand(String migrationId) {
		ExpandJob job = this.expands.get(migrationId);
		boolean resumed = this.history.resume(migrationId, DdlStep.EXPAND);
		if (job == null || (job.isDone() && !resumed)) {
			throw new IllegalStateException(
					"The expand DDL of migration '" + migrationId + "' is done; there is nothing to resume");
		}
		job.pausedBy(null);
		return job.progress();
	}

	/**
	 * Hold the migration at {@code expand} while its expand DDL is not done.
	 */
	@Override
	public @Nullable PhaseLimit limit(MigrationDefinition migration) {
		ExpandJob job = this.expands.get(migration.id());
		if (job == null || job.isDone()) {
			return null;
		}
		return new PhaseLimit(Phase.EXPAND, "the expand DDL is not done yet: it " + job.progress().summary());
	}

	/**
	 * Return where a migration's expand stands on this instance.
	 * @param migrationId the migration
	 * @return its progress, or {@code null} if this instance has not looked at it (or it
	 * is contracted)
	 */
	public @Nullable ExpandProgress expandProgress(String migrationId) {
		ExpandJob job = this.expands.get(migrationId);
		return (job != null) ? job.progress() : null;
	}

	@Override
	public void beforeLeave(MigrationDefinition migration) {
		ExpandJob job = this.expands.get(migration.id());
		if (job != null) {
			stop(job);
		}
	}

	/**
	 * Start the contract on another thread once every live instance runs
	 * {@code contract}, or resume it if it was claimed and has not finished.
	 */
	@Override
	public void afterHeartbeat(MigrationStatus status) {
		String id = status.migrationId();
		if (this.contractsDone.contains(id) || this.contractsRunning.contains(id)) {
			return;
		}
		if (!status.state().isContracted() && !status.wholeFleetAtLeast(Phase.CONTRACT)) {
			return;
		}
		Instant retryAfter = this.contractRetryAfter.get(id);
		if (retryAfter != null && Instant.now().isBefore(retryAfter)) {
			return;
		}
		if (this.contractsRunning.add(id)) {
			this.contractExecutor.execute(() -> {
				try {
					contract(status.migration());
				}
				catch (RuntimeException ex) {
					this.contractRetryAfter.put(id, Instant.now().plus(this.executor.settings().maxBackoff()));
					logger.error("zdm: contract of migration '" + id + "' failed; it is retried after "
							+ this.executor.settings().maxBackoff() + ": " + ex.getMessage(), ex);
				}
				finally {
					this.contractsRunning.remove(id);
				}
			});
		}
	}

	/**
	 * Run the contract if this instance may: claim it, then run the contributors'
	 * contract statements and the contract scripts.
	 * @param migration the migration
	 * @return {@code true} if this call ran (or finished) the contract
	 */
	public boolean contract(MigrationDefinition migration) {
		String id = migration.id();
		try (DdlSession session = DdlSession.open(this.dataSource)) {
			if (!session.tryLock(id)) {
				return false;
			}
			if (this.states.find(id).isContracted()) {
				if (this.history.isStepDone(id, DdlStep.CONTRACT)) {
					this.contractsDone.add(id);
					return false;
				}
				logger.info("zdm: resuming the contract of migration '" + id + "'");
			}
			else if (contractHeldBack(migration) || !claimContract(id)) {
				return false;
			}
			this.history.stepStarted(id, DdlStep.CONTRACT, this.instance.instanceId());
			try {
				runContributions(session, migration, DdlStep.CONTRACT, RetryControl.bounded());
				runScripts(session, migration, DdlStep.CONTRACT, migration.contractLocations(), RetryControl.bounded());
				this.history.stepDone(id, DdlStep.CONTRACT);
			}
			catch (RuntimeException ex) {
				this.history.stepFailed(id, DdlStep.CONTRACT, String.valueOf(ex.getMessage()));
				throw ex;
			}
			this.contractsDone.add(id);
			logger.info("zdm: contract of migration '" + id + "' done on instance " + this.instance.instanceId());
			return true;
		}
	}

	@Override
	public void destroy() {
		this.pauseWatcher.shutdownNow();
		this.expands.values().forEach(this::stop);
		this.expandExecutor.shutdownNow();
		this.contractExecutor.shutdownNow();
		try {
			this.contractExecutor.awaitTermination(5, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		this.executor.destroy();
	}

	private void expandAtStartup(ExpandJob job) {
		Future<?> future = this.expandExecutor.submit(() -> {
			expand(job);
			return null;
		});
		job.future = future;
		// A stop signal ends the process once the shutdown hooks are done: this one lets
		// the statement in flight be
		// cancelled and recorded first, whether or not the start-up thread is
		// interrupted.
		Thread stopOnShutdown = new Thread(() -> stop(job), "zdm-ddl-expand-shutdown");
		Runtime.getRuntime().addShutdownHook(stopOnShutdown);
		try {
			// An untimed wait: a shutdown signal during start-up interrupts a start-up
			// thread that waits so.
			future.get();
		}
		catch (InterruptedException ex) {
			stop(job);
			Thread.currentThread().interrupt();
			throw new DdlStoppedException(
					"Start-up was stopped while the expand DDL of migration '" + job.migration.id()
							+ "' ran; the statement in flight was cancelled and the next start resumes " + "the expand",
					ex);
		}
		catch (ExecutionException ex) {
			if (ex.getCause() instanceof RuntimeException failure) {
				throw failure;
			}
			throw new IllegalStateException(ex.getCause());
		}
		finally {
			try {
				Runtime.getRuntime().removeShutdownHook(stopOnShutdown);
			}
			catch (IllegalStateException ex) {
				// shutting down: the hook runs
			}
		}
	}

	// Runs until the expand is done or the instance stops: never gives up, so a DDL that
	// cannot get its lock never stops the instance. While the operator's pause is in
	// force it starts nothing.
	private void expandInBackground(ExpandJob job) {
		String id = job.migration.id();
		int failures = 0;
		try {
			while (!job.shutdownRequested()) {
				refreshPause(job);
				if (job.pauseRequested()) {
					job.state(ExpandProgress.State.PAUSED);
					job.idle(lockPollInterval());
					continue;
				}
				try {
					if (expand(job)) {
						logger.info("zdm: the expand DDL of migration '" + id + "' is done");
						return;
					}
				}
				catch (DdlStoppedException ex) {
					logger.info("zdm: the expand DDL of migration '" + id + "' stopped: " + ex.getMessage());
					if (job.shutdownRequested()) {
						return;
					}
				}
				catch (RuntimeException ex) {
					if (job.shutdownRequested()) {
						return;
					}
					if (job.pauseRequested()) {
						continue;
					}
					failures++;
					Duration pause = this.executor.settings().backoff(failures, this.random);
					job.failed(String.valueOf(ex.getMessage()));
					logger.warn("zdm: the expand DDL of migration '" + id + "' failed (" + failures + " in a row); it "
							+ "is run again in " + pause.toMillis() + " ms and the migration stays at expand until it "
							+ "is done: " + ex.getMessage());
					job.pause(pause);
				}
			}
		}
		finally {
			ScheduledFuture<?> watch = job.pauseWatch;
			if (watch != null) {
				watch.cancel(false);
			}
		}
	}

	// One try: take the DDL lock (waiting for another instance that holds it), then run
	// what has not run yet.
	// Returns false if a stop or a pause was requested.
	private boolean expand(ExpandJob job) {
		MigrationDefinition migration = job.migration;
		String id = migration.id();
		try (DdlSession session = DdlSession.open(this.dataSource)) {
			while (!session.tryLock(id)) {
				job.state(ExpandProgress.State.WAITING_FOR_INSTANCE);
				if (!job.pause(lockPollInterval())) {
					return false;
				}
			}
			if (this.states.find(id).isContracted() || isExpandDone(migration)) {
				job.done();
				return true;
			}
			if (job.untilApplied()) {
				// Taking over from an instance that stopped for the pause.
				refreshPause(job);
				if (job.stopRequested()) {
					return false;
				}
			}
			job.session = session;
			job.state(ExpandProgress.State.RUNNING);
			this.history.stepStarted(id, DdlStep.EXPAND, this.instance.instanceId());
			try {
				runScripts(session, migration, DdlStep.EXPAND, migration.expandLocations(), job);
				try {
					new MigrationValidator(new DatabaseCatalog(this.dataSource)).validateAfterExpand(migration, false);
				}
				catch (ZdmConfigurationException ex) {
					throw refusedAfterExpand(migration, ex);
				}
				runContributions(session, migration, DdlStep.EXPAND, job);
				this.history.stepDone(id, DdlStep.EXPAND);
			}
			catch (RuntimeException ex) {
				if (job.pauseRequested()) {
					this.history.stepPaused(id, DdlStep.EXPAND, job.stopReason());
				}
				else {
					this.history.stepFailed(id, DdlStep.EXPAND, String.valueOf(ex.getMessage()));
				}
				throw ex;
			}
			finally {
				job.session = null;
			}
			job.done();
			return true;
		}
	}

	// Every poll interval while the expand runs in the background: follow the operator's
	// pause, and cancel a statement that waits for its lock when it is paused.
	private void watchPause(ExpandJob job) {
		if (job.isDone() || job.shutdownRequested()) {
			return;
		}
		refreshPause(job);
		DdlSession session = job.session;
		try {
			if (job.pauseRequested() && session != null && session.cancelIfWaitingForLock(this.dataSource)) {
				logger.info("zdm: cancelled the expand statement of migration '" + job.migration.id()
						+ "' that waited for its lock, as the expand is paused");
			}
		}
		catch (RuntimeException ex) {
			// A scheduled task ends on an exception: keep watching.
			logger.debug("zdm: could not cancel the expand statement of migration '" + job.migration.id() + "'", ex);
		}
	}

	// A failed read keeps what was read last: the next read follows the pause.
	private void refreshPause(ExpandJob job) {
		try {
			job.pausedBy(this.history.findPause(job.migration.id(), DdlStep.EXPAND));
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: could not read whether the expand of migration '" + job.migration.id() + "' is paused",
					ex);
		}
	}

	private Duration lockPollInterval() {
		Duration max = this.executor.settings().maxBackoff();
		return (max.compareTo(Duration.ofSeconds(1)) < 0) ? max : Duration.ofSeconds(1);
	}

	// Done when the step ran to its end and none of this instance's statements is new or
	// changed. Only reads.
	private boolean isExpandDone(MigrationDefinition migration) {
		if (!this.history.isStepDone(migration.id(), DdlStep.EXPAND) || !pending(migration, DdlStep.EXPAND).isEmpty()) {
			return false;
		}
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), DdlStep.EXPAND);
		try {
			for (SchemaChangeContributor contributor : this.contributors) {
				Map<Integer, Integer> done = applied.getOrDefault(source(contributor), Map.of());
				List<String> statements = contributor.expandStatements(migration);
				for (int i = 0; i < statements.size(); i++) {
					if (!Objects.equals(done.get(i + 1), LockSafeExecutor.checksum(statements.get(i)))) {
						return false;
					}
				}
			}
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: could not tell whether the expand of migration '" + migration.id() + "' is done", ex);
			return false;
		}
		return true;
	}

	private void stop(ExpandJob job) {
		job.requestStop();
		Future<?> future = job.future;
		if (future == null) {
			return;
		}
		long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
		while (!future.isDone() && System.nanoTime() < deadline) {
			// Cancelled again until it ends: a statement may start between a check and
			// the cancel.
			DdlSession session = job.session;
			if (session != null) {
				session.cancel(this.dataSource);
			}
			try {
				future.get(200, TimeUnit.MILLISECONDS);
			}
			catch (TimeoutException | ExecutionException ex) {
				// checked again
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				return;
			}
		}
	}

	private boolean contractHeldBack(MigrationDefinition migration) {
		String reason = this.contractPrecondition.holdBack(migration);
		if (reason != null) {
			logger.debug("zdm: contract of migration '" + migration.id() + "' is held back: " + reason);
		}
		return reason != null;
	}

	// Under the fleet's lock no instance changes phase or joins, so the check and the
	// mark are one decision.
	private boolean claimContract(String id) {
		return Boolean.TRUE.equals(this.transactionTemplate.execute((transaction) -> {
			List<FleetMember> live = this.registry.lockLiveMembers(id, this.fleetTimeout);
			FleetMember behind = live.stream()
				.filter((member) -> member.effectivePhase() != Phase.CONTRACT)
				.findFirst()
				.orElse(null);
			if (live.isEmpty() || behind != null) {
				logger.debug("zdm: contract of migration '" + id + "' waits: " + ((behind != null)
						? "instance " + behind.instanceId() + " runs " + behind.effectivePhase() : "no live instance"));
				return false;
			}
			boolean claimed = this.states.markContracted(id, this.instance.instanceId());
			if (claimed) {
				logger.info("zdm: every live instance of migration '" + id + "' runs contract; instance "
						+ this.instance.instanceId() + " runs the contract DDL");
			}
			return claimed;
		}));
	}

	private List<DdlScript> pending(MigrationDefinition migration, DdlStep step) {
		List<DdlScript> scripts = this.loader.load(migration.id(), step, locations(migration, step));
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), step);
		List<DdlScript> pending = new ArrayList<>();
		for (DdlScript script : scripts) {
			Map<Integer, Integer> done = applied.getOrDefault(script.name(), Map.of());
			List<DdlStatement> statements = script.statements()
				.stream()
				.filter((statement) -> !Objects.equals(done.get(statement.index()),
						LockSafeExecutor.checksum(statement.sql())))
				.toList();
			if (!statements.isEmpty()) {
				pending.add(new DdlScript(script.step(), script.version(), script.description(), script.name(),
						script.location(), script.checksum(), statements));
			}
		}
		return pending;
	}

	private void runScripts(DdlSession session, MigrationDefinition migration, DdlStep step, List<String> locations,
			RetryControl control) {
		List<DdlScript> scripts = this.loader.load(migration.id(), step, locations);
		if (scripts.isEmpty()) {
			if (!locations.isEmpty()) {
				logger.warn("zdm: migration '" + migration.id() + "' has no " + step + " scripts in " + locations);
			}
			return;
		}
		JavaMigration[] migrations = scripts.stream()
			.map((script) -> new ScriptMigration(script,
					() -> runScript(session, migration, script, this.history.appliedStatements(migration.id(), step),
							control)))
			.toArray(JavaMigration[]::new);
		String historyTable = historyTable(migration.id(), step);
		if (this.history.forgetFailedScripts(historyTable) > 0) {
			logger.info("zdm: migration '" + migration.id() + "': resuming the " + step + " script that failed before");
		}
		Flyway flyway = Flyway.configure(getClass().getClassLoader())
			.configuration(Map.of(TRANSACTIONAL_LOCK, "false"))
			.dataSource(this.dataSource)
			.table(historyTable)
			.locations(locations.toArray(String[]::new))
			.skipDefaultResolvers(true)
			.skipDefaultCallbacks(true)
			.javaMigrations(migrations)
			.baselineOnMigrate(true)
			.baselineVersion(DdlScriptLoader.BASELINE)
			.baselineDescription("zdm " + step + " baseline")
			.cleanDisabled(true)
			.load();
		try {
			// The pending scripts' statements run before Flyway records the scripts: a
			// statement that fails then
			// fails outside Flyway, which would report it as a failed migration needing
			// backups restored.
			Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), step);
			for (MigrationInfo pending : flyway.info().pending()) {
				scripts.stream()
					.filter((script) -> script.version().equals(pending.getVersion()))
					.forEach((script) -> runScript(session, migration, script, applied, control));
			}
			flyway.migrate();
		}
		catch (FlywayException ex) {
			for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
				if (cause instanceof DdlExecutionException ddl) {
					throw ddl;
				}
			}
			throw new DdlExecutionException("Migration '" + migration.id() + "': Flyway could not run the " + step
					+ " scripts: " + ex.getMessage(), List.of(), ex);
		}
	}

	private void runScript(DdlSession session, MigrationDefinition migration, DdlScript script,
			Map<String, Map<Integer, Integer>> applied, RetryControl control) {
		Map<Integer, Integer> done = applied.getOrDefault(script.name(), Map.of());
		for (DdlStatement statement : script.statements()) {
			StatementKey key = new StatementKey(migration.id(), script.step(), script.name(), statement.index());
			Integer appliedChecksum = done.get(statement.index());
			if (appliedChecksum != null) {
				if (appliedChecksum != LockSafeExecutor.checksum(statement.sql())) {
					throw new DdlExecutionException(key + " was changed after it was applied; restore the script as it "
							+ "was and put further changes in a new script", List.of(), null);
				}
				continue;
			}
			this.executor.execute(session, key, statement, control);
		}
	}

	private void runContributions(DdlSession session, MigrationDefinition migration, DdlStep step,
			RetryControl control) {
		for (SchemaChangeContributor contributor : this.contributors) {
			List<String> statements = (step == DdlStep.EXPAND) ? contributor.expandStatements(migration)
					: contributor.contractStatements(migration);
			String source = source(contributor);
			for (int i = 0; i < statements.size(); i++) {
				DdlStatement statement = DdlStatement.of(i + 1, statements.get(i));
				this.executor.execute(session, new StatementKey(migration.id(), step, source, i + 1), statement,
						control);
			}
		}
	}

	private static ZdmConfigurationException emptyLocation(MigrationDefinition migration, DdlStep step,
			String location) {
		String property = "zdm.migrations." + migration.id() + "." + step.value();
		return new ZdmConfigurationException(migration.id(),
				"the " + step + " location '" + location + "' (" + property + ") does not exist or holds no "
						+ "V<version>__<description>.sql scripts; nothing has run",
				"Put the migration's " + step + " scripts there, for example " + location + "/V1__" + step.value()
						+ ".sql, or correct " + property
						+ ((step == DdlStep.EXPAND) ? ", or remove it if the migration needs no expand DDL."
								: ". The contract runs only once a contract location holds the scripts that drop the "
										+ "old schema."));
	}

	// A check that can only be made once the expand has run failed: say what was applied
	// and how to undo it.
	private ZdmConfigurationException refusedAfterExpand(MigrationDefinition migration, ZdmConfigurationException ex) {
		String id = migration.id();
		String prefix = "Migration '" + id + "': ";
		String description = ex.getDescription().startsWith(prefix) ? ex.getDescription().substring(prefix.length())
				: ex.getDescription();
		List<String> scripts = this.loader.load(id, DdlStep.EXPAND, migration.expandLocations())
			.stream()
			.map(DdlScript::name)
			.toList();
		String history = historyTable(id, DdlStep.EXPAND);
		return new ZdmConfigurationException(id,
				description + "\nThis check needs the expand to have run, so it ran first: zdm's tables (zdm_*) were "
						+ "created and the expand scripts " + scripts + " were applied (recorded in \"" + history
						+ "\").",
				ex.getAction()
						+ "\nApplied statements are not run again: correcting the declaration and starting again "
						+ "is enough. To undo the expand instead, reverse its scripts' statements by hand (for "
						+ "example ALTER TABLE " + migration.table() + " DROP COLUMN <the column added>), then run "
						+ "DROP TABLE \"" + history + "\" and DELETE FROM zdm_migration WHERE migration_id = '" + id
						+ "'.",
				ex);
	}

	private ZdmConfigurationException unsafe(MigrationDefinition migration, List<UnsafeStatement> findings) {
		StringBuilder description = new StringBuilder();
		description.append(findings.size())
			.append((findings.size() == 1) ? " unsafe statement" : " unsafe statements")
			.append(" in its scripts; nothing has run:");
		StringBuilder action = new StringBuilder();
		for (UnsafeStatement finding : findings) {
			description.append("\n  - ").append(finding.describe());
			String recipe = finding.operation().code() + ": " + finding.operation().recipe();
			if (action.indexOf(recipe) < 0) {
				action.append("\n  - ").append(recipe);
			}
		}
		String codes = String.join(",",
				findings.stream().map((finding) -> finding.operation().code()).distinct().toList());
		return new ZdmConfigurationException(migration.id(), description.toString(),
				"Use the safe recipe:" + action
						+ "\nIf the table is small or the application is stopped and you accept "
						+ "the lock, allow the statement with a comment '-- zdm:allow <code>' in it (or on the line "
						+ "before it), or the whole migration with zdm.migrations." + migration.id() + ".allow-unsafe="
						+ codes + ".");
	}

	private static String source(SchemaChangeContributor contributor) {
		return "contributor:" + ClassUtils.getUserClass(contributor).getSimpleName();
	}

	private static List<String> locations(MigrationDefinition migration, DdlStep step) {
		return (step == DdlStep.EXPAND) ? migration.expandLocations() : migration.contractLocations();
	}

	/**
	 * Return the name of the Flyway history table of one step of a migration.
	 * @param migrationId the migration
	 * @param step the step
	 * @return for example {@code zdm_ddl_expand_users-email}, at most 63 characters
	 */
	public static String historyTable(String migrationId, DdlStep step) {
		String name = "zdm_ddl_" + step.value() + "_" + migrationId;
		if (name.length() <= 63) {
			return name;
		}
		return name.substring(0, 54) + "_" + String.format("%08x", migrationId.hashCode());
	}

	/**
	 * One migration's expand on this instance: its progress, and the control its
	 * statements run under.
	 */
	private final class ExpandJob extends RetryControl {

		private final MigrationDefinition migration;

		private final Instant pendingSince = Instant.now();

		private volatile ExpandProgress.State state = ExpandProgress.State.RUNNING;

		private volatile @Nullable Instant finishedAt;

		private volatile @Nullable String statement;

		private volatile int lockTimeouts;

		private volatile @Nullable String lastBlockers;

		private volatile @Nullable String lastError;

		private volatile @Nullable DdlSession session;

		private volatile @Nullable Future<?> future;

		private volatile @Nullable ScheduledFuture<?> pauseWatch;

		private @Nullable DdlPause fleetPause;

		ExpandJob(MigrationDefinition migration, boolean untilApplied) {
			super(untilApplied);
			this.migration = migration;
		}

		boolean isDone() {
			return this.state == ExpandProgress.State.DONE;
		}

		void done() {
			this.finishedAt = Instant.now();
			this.state = ExpandProgress.State.DONE;
		}

		void state(ExpandProgress.State state) {
			this.state = state;
		}

		// Follows the operator's pause as read from the database, or as set or cleared
		// through this instance's endpoint.
		synchronized void pausedBy(@Nullable DdlPause pause) {
			DdlPause before = this.fleetPause;
			this.fleetPause = pause;
			String id = this.migration.id();
			if (pause != null && before == null) {
				requestPause("the expand is " + pause.describe());
				logger.warn("zdm: the expand DDL of migration '" + id + "' is " + pause.describe() + " for the whole "
						+ "fleet; no instance starts or takes it over, and the migration stays at expand, until it "
						+ "is resumed with POST /actuator/zdm/" + id + "/expand/resume");
			}
			else if (pause == null && before != null) {
				clearPause();
				if (this.state == ExpandProgress.State.PAUSED && this.future != null) {
					this.state = ExpandProgress.State.RUNNING;
				}
				logger.info("zdm: the expand DDL of migration '" + id + "' is resumed");
			}
		}

		void failed(String error) {
			this.lastError = error;
			this.state = ExpandProgress.State.RETRYING;
		}

		@Override
		void statement(StatementKey key, boolean applied) {
			this.statement = key.toString();
			this.state = ExpandProgress.State.RUNNING;
		}

		@Override
		void lockTimedOut(StatementKey key, int attempt, List<BlockingSession> blockers, String report) {
			this.lockTimeouts++;
			this.lastBlockers = report;
			this.state = ExpandProgress.State.WAITING_FOR_LOCK;
		}

		ExpandProgress progress() {
			ExpandProgress.State current = this.state;
			boolean stalled = current != ExpandProgress.State.DONE && Duration.between(this.pendingSince, Instant.now())
				.compareTo(ExpandContractRunner.this.expandSettings.alertAfter()) > 0;
			DdlPause pause;
			synchronized (this) {
				pause = this.fleetPause;
			}
			return new ExpandProgress(this.migration.id(), current, this.pendingSince, this.finishedAt, this.statement,
					this.lockTimeouts, this.lastBlockers, this.lastError, stalled, pause);
		}

	}

	/**
	 * A script, as Flyway sees it: a non-transactional migration whose statements the
	 * executor runs one by one.
	 */
	private static final class ScriptMigration implements JavaMigration {

		private final DdlScript script;

		private final Runnable runner;

		private ScriptMigration(DdlScript script, Runnable runner) {
			this.script = script;
			this.runner = runner;
		}

		@Override
		public MigrationVersion getVersion() {
			return this.script.version();
		}

		@Override
		public String getDescription() {
			return this.script.description();
		}

		@Override
		public Integer getChecksum() {
			return this.script.checksum();
		}

		@Override
		public boolean canExecuteInTransaction() {
			return false;
		}

		@Override
		public void migrate(Context context) {
			this.runner.run();
		}

	}

}
