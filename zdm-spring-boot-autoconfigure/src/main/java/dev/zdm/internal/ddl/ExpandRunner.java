package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.Ordered;
import org.springframework.dao.DataAccessException;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseLimit;
import dev.zdm.internal.fleet.PoolConnections;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Runs each migration's expand DDL, its scripts through the {@link FlywayStep} and the
 * {@link SchemaChangeContributor contributors}' expand statements, in the background
 * while the instance serves through the old schema, and holds the phase at {@code expand}
 * until they are done.
 * <p>
 * The expand runs on one instance of the fleet at a time: every instance that finds it
 * not done tries for the migration's DDL lock, and one that gets it runs the statements
 * that have not run yet, retrying each until it gets its lock; the others wait, and take
 * over if that instance dies. With {@link ExpandSettings#atStartup()} it runs at start-up
 * instead, before the instance serves. The operator may pause it for the whole fleet
 * ({@link #pauseExpand(String)}, see {@link ExpandPause}): no instance starts or takes it
 * over until it is resumed, and the instance running it stops at the next safe point (a
 * statement waiting for its lock is cancelled; one that has its locks, such as a
 * concurrent index build, runs to its end).
 */
public class ExpandRunner implements MigrationParticipant, Ordered, DisposableBean {

	/**
	 * The order of the runner among the participants: after the
	 * {@link DdlScriptValidator} and before the others, so that the new schema exists for
	 * them.
	 */
	public static final int ORDER = DdlScriptValidator.ORDER + 1;

	private static final Log logger = LogFactory.getLog(ExpandRunner.class);

	private static final AtomicInteger expandThreads = new AtomicInteger();

	private final DataSource dataSource;

	private final FlywayStep scripts;

	private final SchemaChangeContributions contributions;

	private final ExpandPause pause;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final MigrationValidator validator;

	private final DdlSettings settings;

	private final ExpandSettings expandSettings;

	private final InstanceInfo instance;

	private final Map<String, ExpandJob> expands = new ConcurrentHashMap<>();

	private final ExecutorService expandExecutor = Executors.newCachedThreadPool((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-expand-" + expandThreads.incrementAndGet());
		thread.setDaemon(true);
		return thread;
	});

	private final RandomGenerator random = RandomGenerator.getDefault();

	// the background expands this instance runs at once, each holding its connections
	private final Semaphore slots;

	// the migrations whose background expand holds one of the slots now
	private final Set<String> inSlots = ConcurrentHashMap.newKeySet();

	// the migrations a queued expand waits for, by id, and the waits already told
	private final Map<String, String> queuedBehind = new ConcurrentHashMap<>();

	private final Set<String> toldQueued = ConcurrentHashMap.newKeySet();

	private final DdlRole role;

	private volatile boolean recordingAllowed;

	/**
	 * Create a runner.
	 * @param dataSource where the expand's DDL session is opened, and its statement
	 * cancelled from: the application's data source, or one for the role zdm runs its DDL
	 * as ({@code zdm.ddl.user})
	 * @param scripts runs the expand scripts
	 * @param contributions runs the contributors' expand statements
	 * @param pause the operator's pause, for the whole fleet
	 * @param history where the expand's progress is read and recorded
	 * @param states where the migration's state is read
	 * @param validator checks the new schema once the expand scripts have run
	 * @param settings the retry settings, for the backoff between failed expands
	 * @param expandSettings when the expand runs
	 * @param instance this instance
	 */
	public ExpandRunner(DataSource dataSource, FlywayStep scripts, SchemaChangeContributions contributions,
			ExpandPause pause, DdlHistoryRepository history, MigrationStateRepository states,
			MigrationValidator validator, DdlSettings settings, ExpandSettings expandSettings, InstanceInfo instance) {
		this.dataSource = dataSource;
		this.scripts = scripts;
		this.contributions = contributions;
		this.pause = pause;
		this.history = history;
		this.states = states;
		this.validator = validator;
		this.settings = settings;
		this.expandSettings = expandSettings;
		this.instance = instance;
		this.slots = new Semaphore(expandSettings.maxConcurrent());
		this.role = new DdlRole(dataSource);
	}

	/**
	 * Refuse a migration whose expand has not run while the role that runs zdm's DDL may
	 * not alter its tables: its expand would fail at its first statement and be retried
	 * for as long as the application runs. A migration whose expand has run is let start,
	 * with a warning: its contract waits until the role may ({@link ContractRunner}), and
	 * an instance that restarts meanwhile still serves.
	 */
	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		if (state.isContracted() || state.isAbandoned() || migration.requestedPhase() == Phase.ABANDON) {
			return;
		}
		String lacking;
		try {
			lacking = this.role.lacking(migration);
		}
		catch (DataAccessException ex) {
			throw new ZdmConfigurationException(migration.id(),
					"zdm could not ask, on a connection of the role it runs its DDL as, what that role may do to the "
							+ "migration's tables: " + ex.getMostSpecificCause().getMessage(),
					"Check zdm.ddl.user and zdm.ddl.password (or spring.flyway.user and spring.flyway.password, "
							+ "which zdm uses when those are unset).",
					ex);
		}
		if (lacking == null) {
			return;
		}
		if (expandHasRun(migration.id())) {
			logger.warn("zdm: migration '" + migration.id() + "': " + lacking + "; its expand has run, and its "
					+ "contract waits until the role may. " + DdlRole.action());
			return;
		}
		throw new ZdmConfigurationException(migration.id(), lacking + ", so its expand cannot run", DdlRole.action());
	}

	private boolean expandHasRun(String migrationId) {
		try {
			return this.history.isStepDone(migrationId, DdlStep.EXPAND);
		}
		catch (DataAccessException ex) {
			// zdm's tables do not exist yet
			return false;
		}
	}

	@Override
	public int getOrder() {
		return ORDER;
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
		if (!this.recordingAllowed) {
			// a DDL role of its own records each statement it applies in zdm's tables
			this.history.allowRecordingBy(this.role.name());
			this.recordingAllowed = true;
		}
		if (state.isContracted() || state.isAbandoned() || migration.requestedPhase() == Phase.ABANDON) {
			return;
		}
		String id = migration.id();
		ExpandJob job = new ExpandJob(migration, !this.expandSettings.atStartup(), this.expandSettings.alertAfter());
		this.expands.put(id, job);
		if (isExpandDone(migration)) {
			job.done();
			return;
		}
		if (this.expandSettings.atStartup()) {
			this.pause.refuseAtStartupIfPaused(id);
			expandAtStartup(job);
			return;
		}
		Integer poolSize = this.expandSettings.poolSize();
		if (this.expandSettings.maxConcurrent() == 0 && poolSize != null) {
			// in the background it would fail every time, each try holding the whole
			// pool for the pool's connection timeout while the instance serves
			throw PoolConnections.tooSmallFor(id, "expand", poolSize);
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
		this.pause.watch(job, lockPollInterval());
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
		this.pause.pause(job);
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
		boolean resumed = this.pause.resume(migrationId, job);
		if (job == null || (job.isDone() && !resumed)) {
			throw new IllegalStateException(
					"The expand DDL of migration '" + migrationId + "' is done; there is nothing to resume");
		}
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
		// an instance that does not run the expand itself learns here that another one
		// has: nothing else of it watches the expand
		if (this.expandSettings.paused().contains(migration.id()) && isExpandDone(migration)) {
			job.done();
			logger.info("zdm: the expand DDL of migration '" + migration.id() + "' is done (by another instance; "
					+ "zdm.migrations." + migration.id() + ".expand-paused keeps this one from running it)");
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
			job.stop(this.dataSource);
		}
	}

	// told once at INFO for each set of migrations waited for, and shown as the step
	// held back: the expand's state alone does not say which migration it waits for
	private void queued(String id) {
		List<String> running = this.inSlots.stream().filter((other) -> !other.equals(id)).sorted().toList();
		if (running.isEmpty()) {
			return;
		}
		String behind = String.join("', '", running);
		this.queuedBehind.put(id, behind);
		if (this.toldQueued.add(id + "/" + behind)) {
			logger.info("zdm: the expand DDL of migration '" + id + "' " + waitsFor(running.size(), behind));
		}
	}

	private String waitsFor(int count, String behind) {
		return "waits for the expand DDL of migration" + ((count > 1) ? "s '" : " '") + behind + "', which "
				+ ((count > 1) ? "run" : "runs") + " on this instance: the connection pool has room for "
				+ this.expandSettings.maxConcurrent() + " expand"
				+ ((this.expandSettings.maxConcurrent() > 1) ? "s" : "")
				+ " at once (each holds 3 connections), and this one starts when one of them ends or fails";
	}

	@Override
	public @Nullable String stepHeldBack(String migrationId) {
		ExpandJob job = this.expands.get(migrationId);
		String behind = this.queuedBehind.get(migrationId);
		if (job == null || behind == null || job.state() != ExpandProgress.State.QUEUED) {
			return null;
		}
		return "the expand DDL " + waitsFor(behind.split("', '").length, behind);
	}

	@Override
	public void destroy() {
		this.expands.values().forEach((job) -> job.stop(this.dataSource));
		this.expandExecutor.shutdownNow();
	}

	private void expandAtStartup(ExpandJob job) {
		Future<?> future = this.expandExecutor.submit(() -> {
			expand(job);
			return null;
		});
		job.future = future;
		// A stop signal ends the process once the shutdown hooks are done: this one lets
		// the statement in flight be cancelled and recorded first, whether or not the
		// start-up thread is interrupted.
		Thread stopOnShutdown = new Thread(() -> job.stop(this.dataSource), "zdm-expand-stop");
		Runtime.getRuntime().addShutdownHook(stopOnShutdown);
		try {
			// An untimed wait: a shutdown signal during start-up interrupts a start-up
			// thread that waits so.
			future.get();
		}
		catch (InterruptedException ex) {
			job.stop(this.dataSource);
			Thread.currentThread().interrupt();
			throw new DdlStoppedException(
					"Start-up was stopped while the expand DDL of migration '" + job.migration().id()
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
		String id = job.migration().id();
		int failures = 0;
		try {
			while (!job.shutdownRequested()) {
				this.pause.refresh(job);
				if (job.pauseRequested()) {
					job.state(ExpandProgress.State.PAUSED);
					job.idle(lockPollInterval());
					continue;
				}
				if (!this.slots.tryAcquire()) {
					// the pool has room for fewer expands at once than are due: this one
					// waits for another migration's to end (or to fail, between its
					// tries)
					job.state(ExpandProgress.State.QUEUED);
					queued(id);
					job.idle(lockPollInterval());
					continue;
				}
				this.queuedBehind.remove(id);
				this.inSlots.add(id);
				Duration retryIn = null;
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
					retryIn = this.settings.backoff(failures, this.random);
					// a declaration refused once the expand ran (a misspelt
					// target-key) says what to do, as it would at start-up
					String error = (ex instanceof ZdmConfigurationException refused)
							? refused.getMessage() + " Action: " + refused.getAction().replace('\n', ' ')
							: String.valueOf(ex.getMessage());
					job.failed(error);
					logger.warn("zdm: the expand DDL of migration '" + id + "' failed (" + failures + " in a row); it "
							+ "is run again in " + retryIn.toMillis() + " ms and the migration stays at expand until "
							+ "it is done: " + error);
				}
				finally {
					this.inSlots.remove(id);
					this.slots.release();
				}
				if (retryIn != null) {
					job.pause(retryIn);
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
	// what has not run yet. Returns false if a stop or a pause was requested.
	private boolean expand(ExpandJob job) {
		MigrationDefinition migration = job.migration();
		String id = migration.id();
		try (DdlSession session = DdlSession.open(this.dataSource)) {
			while (!session.tryLock(id)) {
				job.state(ExpandProgress.State.WAITING_FOR_INSTANCE);
				if (!job.pause(lockPollInterval())) {
					return false;
				}
			}
			MigrationState state = this.states.find(id);
			if (state.isContracted() || state.isAbandoned() || isExpandDone(migration)) {
				job.done();
				return true;
			}
			if (job.untilApplied()) {
				// Taking over from an instance that stopped for the pause.
				this.pause.refresh(job);
				if (job.stopRequested()) {
					return false;
				}
			}
			job.session = session;
			job.state(ExpandProgress.State.RUNNING);
			this.history.stepStarted(id, DdlStep.EXPAND, this.instance.instanceId());
			try {
				this.scripts.run(session, migration, DdlStep.EXPAND, migration.expandLocations(), job);
				// the declared columns are new columns too: added before the check, and
				// the sync trigger, which reads them, after it
				this.contributions.runExpand(session, migration, job, false);
				try {
					this.validator.validateAfterExpand(migration, false);
				}
				catch (ZdmConfigurationException ex) {
					throw refusedAfterExpand(migration, ex);
				}
				this.contributions.runExpand(session, migration, job, true);
				this.history.stepDone(id, DdlStep.EXPAND);
			}
			catch (RuntimeException ex) {
				if (job.pauseRequested()) {
					this.history.stepPaused(id, DdlStep.EXPAND, this.instance.instanceId(), job.stopReason());
				}
				else {
					this.history.stepFailed(id, DdlStep.EXPAND, this.instance.instanceId(),
							String.valueOf(ex.getMessage()));
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

	private Duration lockPollInterval() {
		Duration max = this.settings.maxBackoff();
		return (max.compareTo(Duration.ofSeconds(1)) < 0) ? max : Duration.ofSeconds(1);
	}

	// Done when the step ran to its end and none of this instance's statements is new or
	// changed. Only reads.
	private boolean isExpandDone(MigrationDefinition migration) {
		if (!this.history.isStepDone(migration.id(), DdlStep.EXPAND)
				|| !this.scripts.pending(migration, DdlStep.EXPAND).isEmpty()) {
			return false;
		}
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), DdlStep.EXPAND);
		try {
			return this.contributions.areApplied(migration, DdlStep.EXPAND, applied);
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: could not tell whether the expand of migration '" + migration.id() + "' is done", ex);
			return false;
		}
	}

	// A check that can only be made once the expand has run failed: say what was applied
	// and how to undo it.
	private ZdmConfigurationException refusedAfterExpand(MigrationDefinition migration, ZdmConfigurationException ex) {
		String id = migration.id();
		String prefix = "Migration '" + id + "': ";
		String description = ex.getDescription().startsWith(prefix) ? ex.getDescription().substring(prefix.length())
				: ex.getDescription();
		List<String> scripts = this.scripts.load(migration, DdlStep.EXPAND, migration.expandLocations())
			.stream()
			.map(DdlScript::name)
			.toList();
		String history = FlywayStep.historyTable(id, DdlStep.EXPAND);
		return new ZdmConfigurationException(id,
				description + "\nThis check needs the expand to have run, so it ran first: zdm's tables (zdm_*) were "
						+ "created and the expand scripts " + scripts + " were applied (recorded in \"" + history
						+ "\").",
				ex.getAction()
						+ "\nApplied statements are not run again: correcting the declaration and starting again "
						+ "is enough. To undo the expand instead, reverse its scripts' statements by hand (for "
						+ "example ALTER TABLE " + migration.table() + " DROP COLUMN <the column added>), then run "
						+ "DROP TABLE \"" + history + "\" and "
						+ this.states.tables().qualify("DELETE FROM zdm_migration") + " WHERE migration_id = '" + id
						+ "'.",
				ex);
	}

}
