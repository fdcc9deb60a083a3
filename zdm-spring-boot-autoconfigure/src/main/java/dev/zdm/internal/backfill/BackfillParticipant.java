package dev.zdm.internal.backfill;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.dao.DataAccessException;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.internal.backfill.BackfillOverrideRepository.Stored;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PoolConnections;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.internal.locks.WalInspector;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Schedules each migration's backfill on a background thread of its own once the fleet
 * allows it: every live instance at least at {@code dual-write} and this one at
 * {@code backfill} or later. It never starts at start-up nor in a request thread; after
 * each heartbeat it makes sure a run is trying, and every instance's runs compete for one
 * advisory lock so that one runner works for the fleet.
 */
public class BackfillParticipant implements MigrationParticipant, DisposableBean {

	private static final Log logger = LogFactory.getLog(BackfillParticipant.class);

	private static final AtomicInteger threadCounter = new AtomicInteger();

	private static final Duration MAX_RETRY_DELAY = Duration.ofSeconds(30);

	private final DataSource dataSource;

	private final BackfillEnvironment environment;

	private final ExecutorService executor;

	private final Map<String, Job> jobs = new ConcurrentHashMap<>();

	private final BackfillOverrideRepository overrides;

	private final Set<String> clearOverrides;

	private final @Nullable Integer poolSize;

	// the runs this instance's pool has room for at once
	private final Semaphore runsHere;

	// the table of each migration with a backfill seen at a heartbeat, for the table's
	// queue
	private final Map<String, TableName> tables = new ConcurrentHashMap<>();

	// the migrations whose wait for a turn was told
	private final Set<String> toldWaiting = ConcurrentHashMap.newKeySet();

	/**
	 * Create a participant.
	 * @param dataSource the application's data source
	 * @param registry the fleet, whose live instances the backfill waits for
	 * @param states where each migration's state is recorded
	 * @param lockInspector where the load checks before each batch read lock waiters and
	 * old transactions
	 * @param replicationLagInspector where the load checks before each batch read the
	 * replicas' lag
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param throttles further load checks consulted before each batch
	 * @param listener the listener told what each backfill does, to measure and trace it,
	 * or {@code null} for none
	 * @param applicationLatency where the pacing reads the application's own database
	 * call times, or {@code null} if they cannot be read
	 * @param maxConcurrentBackfills how many backfills may run at once on the database,
	 * across the fleet; at least 1
	 * @param clearOverrides the migrations whose declaration clears the live overrides of
	 * their backfill's settings
	 * ({@code zdm.migrations.<id>.backfill.clear-overrides=true}): once per distinct
	 * declaration of the settings, by the first instance that starts with it
	 * @param poolSize the most connections the application's pool opens, if known: the
	 * backfills of several migrations take turns on a pool too small for all of them at
	 * once, and a backfill is refused at start-up on a pool under 3
	 */
	public BackfillParticipant(DataSource dataSource, FleetRegistry registry, MigrationStateRepository states,
			LockInspector lockInspector, ReplicationLagInspector replicationLagInspector, Duration fleetTimeout,
			List<BackfillThrottle> throttles, @Nullable BackfillListener listener,
			@Nullable ApplicationLatency applicationLatency, int maxConcurrentBackfills, Set<String> clearOverrides,
			@Nullable Integer poolSize) {
		this.poolSize = poolSize;
		this.runsHere = new Semaphore(Math.max(1, PoolConnections.concurrentBackfills(poolSize)));
		this.dataSource = dataSource;
		this.overrides = new BackfillOverrideRepository(dataSource, states.tables());
		this.environment = new BackfillEnvironment(dataSource, registry, states, fleetTimeout, lockInspector,
				replicationLagInspector, new WalInspector(dataSource), throttles,
				(listener != null) ? listener : BackfillListener.NONE, applicationLatency, maxConcurrentBackfills);
		this.clearOverrides = Set.copyOf(clearOverrides);
		this.executor = Executors.newCachedThreadPool((runnable) -> {
			Thread thread = new Thread(runnable, "zdm-backfill-" + threadCounter.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
	}

	/**
	 * Return the settings this instance runs a migration's backfill with: the declared
	 * ones with the live overrides read at the last heartbeat merged over them.
	 * @param migration the migration
	 * @return the settings
	 */
	public BackfillSettings settings(MigrationDefinition migration) {
		Job job = this.jobs.get(migration.id());
		BackfillSettings settings = (job != null) ? job.settings : null;
		return (settings != null) ? settings : migration.backfill();
	}

	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		if (!migration.hasBackfill() && !state.isContracted()) {
			// Nothing copies the rows that existed before dual-write, and nothing holds
			// read-new back for them.
			logger.warn("zdm: migration '" + migration.id() + "' declares no up expressions, so it has no backfill "
					+ "and no verification: rows written before every instance ran dual-write are not copied to the "
					+ "new side, and read-new is not held back for them. For data moved into another table declare "
					+ "zdm.migrations." + migration.id() + ".target-table and up (see docs/backfill.md).");
		}
	}

	@Override
	public void beforeJoin(MigrationDefinition migration, MigrationState state) {
		if (this.poolSize != null && PoolConnections.concurrentBackfills(this.poolSize) == 0 && migration.hasBackfill()
				&& migration.backfill().enabled() && migration.requestedPhase().isAtLeast(Phase.BACKFILL)
				&& migration.requestedPhase() != Phase.ABANDON && !state.isContracted() && !state.isAbandoned()) {
			// a run would hold the pool while the instance serves, every heartbeat
			throw PoolConnections.tooSmallForBackfill(migration.id(), this.poolSize);
		}
	}

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		MigrationDefinition migration = status.migration();
		if (!migration.hasBackfill()) {
			return;
		}
		this.tables.put(migration.id(), migration.table());
		Job job = this.jobs.computeIfAbsent(migration.id(), (id) -> new Job());
		if (!job.declarationApplied) {
			job.declarationApplied = clearOverridesForDeclaration(migration, status.instanceId());
		}
		if (!migration.backfill().enabled()) {
			return;
		}
		boolean allowed = isAllowed(status);
		if (allowed) {
			readOverrides(migration, job);
		}
		if (!allowed && status.lastHeartbeatError() == null && !status.wholeFleetAtLeast(Phase.DUAL_WRITE)) {
			restartVerificationInFlight(migration);
		}
		synchronized (job) {
			BackfillRunner runner = job.runner;
			if (!allowed) {
				if (runner != null && !job.isDone()) {
					runner.eligibilityLost();
				}
				return;
			}
			if (job.isDone() && System.nanoTime() >= job.notBefore && !job.leaving && !this.executor.isShutdown()) {
				BackfillRunner next = new BackfillRunner(this.environment, migration, status.instanceId(),
						!status.effective().readsNew());
				if (job.unrecordedFailures > 0 && job.unrecordedFailure != null) {
					next.recordEarlierFailures(job.unrecordedFailures, job.unrecordedFailure);
				}
				if (job.failureBudget == null) {
					job.failureBudget = new BackfillFailureBudget(migration.backfill());
				}
				next.useFailureBudget(job.failureBudget);
				next.queueOnTable(() -> sameTable(migration));
				if (job.pacer != null && job.sampler != null) {
					next.continuePacing(job.pacer, job.sampler);
				}
				job.pacer = next.pacer();
				job.sampler = next.sampler();
				if (job.settings != null && job.tuning != null) {
					next.tune(job.settings, job.tuning);
				}
				if (!this.runsHere.tryAcquire()) {
					// another migration's run holds this instance's turn; another
					// instance, or a later heartbeat, runs this one
					if (!status.state().isVerified() && this.toldWaiting.add(migration.id())) {
						logger.info("zdm: migration '" + migration.id() + "': its backfill waits for the backfill of "
								+ "another migration on this instance: the connection pool (" + this.poolSize
								+ " connections) has room for " + PoolConnections.concurrentBackfills(this.poolSize)
								+ " at once; another instance may run it meanwhile");
					}
					return;
				}
				this.toldWaiting.remove(migration.id());
				job.runner = next;
				try {
					job.future = this.executor.submit(() -> run(migration, job, next));
				}
				catch (RuntimeException ex) {
					this.runsHere.release();
					throw ex;
				}
			}
		}
	}

	@Override
	public void beforeLeave(MigrationDefinition migration) {
		Job job = this.jobs.get(migration.id());
		if (job == null) {
			return;
		}
		Future<?> future;
		synchronized (job) {
			job.leaving = true;
			if (job.runner != null) {
				job.runner.requestStop();
			}
			future = job.future;
		}
		if (future != null) {
			Duration wait = migration.backfill()
				.statementTimeout()
				.plus(migration.backfill().lockTimeout())
				.plusSeconds(5);
			try {
				future.get(wait.toMillis(), TimeUnit.MILLISECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			catch (ExecutionException | TimeoutException ex) {
				logger
					.warn("zdm: migration '" + migration.id() + "': backfill did not stop cleanly: " + ex.getMessage());
			}
		}
	}

	@Override
	public void destroy() {
		this.jobs.values().forEach((job) -> {
			synchronized (job) {
				job.leaving = true;
				if (job.runner != null) {
					job.runner.requestStop();
				}
			}
		});
		this.executor.shutdown();
	}

	/**
	 * Return the other migrations with a backfill on the migration's table, as this
	 * instance's heartbeats saw them.
	 */
	private List<String> sameTable(MigrationDefinition migration) {
		return this.tables.entrySet()
			.stream()
			.filter((entry) -> !entry.getKey().equals(migration.id()) && entry.getValue().equals(migration.table()))
			.map(Map.Entry::getKey)
			.sorted()
			.toList();
	}

	/**
	 * Whether the fleet allows this instance to run the backfill now.
	 * @param status the migration as this instance sees it
	 * @return {@code true} if allowed
	 */
	static boolean isAllowed(MigrationStatus status) {
		return status.lastHeartbeatError() == null && !status.state().isContracted()
				&& status.effective().isAtLeast(Phase.BACKFILL) && status.wholeFleetAtLeast(Phase.DUAL_WRITE);
	}

	/**
	 * Clear the overrides if this instance's declaration says so and no instance cleared
	 * them for the same declaration before, as the other instances of a rolling deploy.
	 * @return whether this is done with, so as not to try again at the next heartbeat
	 */
	private boolean clearOverridesForDeclaration(MigrationDefinition migration, String instanceId) {
		if (!this.clearOverrides.contains(migration.id())) {
			return true;
		}
		String id = migration.id();
		String declaration = BackfillOverrides.fingerprint(migration.backfill());
		OperatorAction clear = new OperatorAction(BackfillOverrides.CLEAR_ACTION, BackfillOverrides.DECLARATION,
				instanceId, "zdm.migrations." + id + ".backfill.clear-overrides=true (declaration " + declaration + ")",
				Instant.now().truncatedTo(ChronoUnit.MICROS));
		try {
			if (this.overrides.clearForDeclaration(id, declaration, clear)) {
				new OperatorActionRepository(this.dataSource, this.environment.states().tables()).record(id, clear);
				logger.info("zdm: migration '" + id + "': live overrides of the backfill's settings cleared, as "
						+ "zdm.migrations." + id + ".backfill.clear-overrides=true says; instances starting later "
						+ "with the same declaration leave overrides set since in place");
			}
			return true;
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: migration '" + id + "': could not clear the backfill's overrides yet", ex);
			return false;
		}
	}

	/**
	 * Read the live overrides of the migration's backfill settings, a lookup by key, and
	 * hand them to the run in progress when they changed.
	 */
	private void readOverrides(MigrationDefinition migration, Job job) {
		BackfillOverrideRepository.Stored stored;
		try {
			stored = this.overrides.find(migration.id());
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: migration '" + migration.id() + "': could not read the backfill's overrides", ex);
			return;
		}
		if (Objects.equals(stored, job.overrides)) {
			return;
		}
		BackfillOverrides values = (stored != null) ? stored.overrides() : BackfillOverrides.NONE;
		BackfillSettings declared = migration.backfill();
		BackfillSettings settings;
		String tuning;
		String by = (stored != null && stored.setBy() != null) ? " by " + stored.setBy() + " on " + stored.setOn()
				+ ((stored.reason() != null) ? " (" + stored.reason() + ")" : "") : "";
		try {
			settings = values.applyTo(declared);
			tuning = values.isEmpty() ? "as declared again, the overrides cleared" + by
					: "overridden live: " + values.describe() + by;
		}
		catch (IllegalArgumentException ex) {
			settings = declared;
			tuning = "as declared: the overrides " + values.describe() + by + " do not fit this instance's declared "
					+ "settings (" + ex.getMessage() + ")";
			logger.warn("zdm: migration '" + migration.id() + "': backfill settings " + tuning
					+ ". Change or clear them with POST /actuator/zdm/" + migration.id() + "/backfill/tuning/...");
		}
		synchronized (job) {
			job.overrides = stored;
			job.settings = settings;
			job.tuning = tuning;
			BackfillRunner runner = job.runner;
			if (runner != null && !job.isDone()) {
				runner.tune(settings, tuning);
			}
		}
	}

	/**
	 * Drop a verification in flight while an instance writes the old side only: rows it
	 * already checked may disagree again, so resuming it would miss them.
	 */
	private void restartVerificationInFlight(MigrationDefinition migration) {
		try {
			if (new BackfillRepository(this.dataSource, this.environment.states().tables())
				.restartVerification(migration.id())) {
				logger.info("zdm: migration '" + migration.id() + "': verification in flight dropped: an instance "
						+ "writes the old side only; it starts again once the whole fleet dual-writes");
			}
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: migration '" + migration.id() + "': could not drop the verification in flight", ex);
		}
	}

	private void run(MigrationDefinition migration, Job job, BackfillRunner runner) {
		try {
			runOnce(migration, job, runner);
		}
		finally {
			this.runsHere.release();
		}
	}

	private void runOnce(MigrationDefinition migration, Job job, BackfillRunner runner) {
		try {
			BackfillRunner.Outcome outcome = runner.run();
			synchronized (job) {
				job.failures = 0;
				job.refusals = 0;
				job.unrecordedFailures = 0;
				job.unrecordedFailure = null;
				if (outcome == BackfillRunner.Outcome.VERIFICATION_FAILED) {
					job.notBefore = System.nanoTime() + MAX_RETRY_DELAY.toNanos();
				}
			}
		}
		catch (Exception ex) {
			int failures;
			int refused;
			synchronized (job) {
				failures = ++job.failures;
				refused = (ex instanceof DataAccessException dataAccess && BackfillErrors.isRefused(dataAccess))
						? ++job.refusals : (job.refusals = 0);
				long delay = Math.min(MAX_RETRY_DELAY.toMillis(), 250L << Math.min(failures, 10));
				job.notBefore = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
			}
			this.environment.listener().runFailed(migration, ex);
			int attempts = settings(migration).maxBatchAttempts();
			if (refused >= attempts && stopFailed(migration, job, ex, refused, attempts)) {
				return;
			}
			// a run that failed after copying for a while still counts: runs end when
			// they
			// finish, so this is the count since the last that did, not of failures with
			// nothing between them
			logger.warn("zdm: migration '" + migration.id() + "': backfill run failed ("
					+ ((failures == 1) ? "the first" : failures + " runs") + " since the last one that finished), "
					+ "it is retried from its checkpoint: " + describeWithAdvice(ex));
			recordError(migration, job, ex);
		}
	}

	/**
	 * Stop a backfill whose runs the database refused {@code max-batch-attempts} times in
	 * a row, as a batch that keeps failing stops it: failed and paused, with the error
	 * and what to do, until an operator resumes it. A run that fails before its first
	 * batch never reaches the batches' budget, and was retried forever, shown running.
	 * @return whether it was stopped (not when the database cannot take the stop)
	 */
	private boolean stopFailed(MigrationDefinition migration, Job job, Exception ex, int refused, int attempts) {
		String id = migration.id();
		String failure = BackfillErrors.stopped(id, "its run failed " + refused + " times in a row (max-batch-attempts "
				+ attempts + "), each time on a statement the database refused", ex);
		try {
			new BackfillRepository(this.dataSource, this.environment.states().tables()).stopFailed(id, failure);
		}
		catch (RuntimeException stopFailure) {
			return false;
		}
		synchronized (job) {
			job.refusals = 0;
		}
		logger.error("zdm: migration '" + id + "': " + failure);
		return true;
	}

	// a failure for want of a resource on the server (a full disk, no connection slot
	// left) says what that means and what to do: it is retried with no end, and the
	// backfill shows running meanwhile
	private static String describeWithAdvice(Exception ex) {
		String advice = BackfillErrors.insufficientResources(ex);
		return BackfillErrors.describe(ex) + ((advice != null) ? ". " + advice : "");
	}

	private void recordError(MigrationDefinition migration, Job job, Exception ex) {
		String failure = describeWithAdvice(ex);
		try {
			new BackfillRepository(this.dataSource, this.environment.states().tables()).recordError(migration.id(), 1,
					failure);
		}
		catch (RuntimeException recordFailure) {
			// the database is unreachable: the next run records it
			synchronized (job) {
				job.unrecordedFailures++;
				job.unrecordedFailure = failure;
			}
		}
	}

	private static final class Job {

		private @Nullable BackfillRunner runner;

		private @Nullable Future<?> future;

		private long notBefore = System.nanoTime();

		private int failures;

		// runs in a row that failed on a statement the database refused
		private int refusals;

		private boolean leaving;

		private boolean declarationApplied;

		// the overrides read at the last heartbeat, and the settings they make
		private @Nullable Stored overrides;

		private volatile @Nullable BackfillSettings settings;

		private @Nullable String tuning;

		private int unrecordedFailures;

		private @Nullable String unrecordedFailure;

		// outlives each run: a batch whose failure ends the run counts across runs
		private @Nullable BackfillFailureBudget failureBudget;

		// the pace the last run reached, which the next one goes on with
		private @Nullable BackfillPacer pacer;

		private @Nullable TailSampler sampler;

		private boolean isDone() {
			return this.future == null || this.future.isDone();
		}

	}

}
