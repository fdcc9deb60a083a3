package dev.zdm.internal.ddl;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.FleetRegistry;

/**
 * A DDL step that one instance claims for the whole fleet and runs in the background: the
 * contract and the abandon. What they share is here: the thread the step runs on, which
 * migrations it runs or has finished, the wait before a failed run is tried again, the
 * migration's DDL lock around a run, the claim under the fleet's lock, and the step's
 * start and end in the DDL history. What the step decides (when to start, who may claim,
 * what to run) stays with its runner.
 */
final class ClaimedDdlStep {

	private final DdlStep step;

	private final DataSource ddlDataSource;

	private final DdlHistoryRepository history;

	private final FleetRegistry registry;

	private final Duration retryWait;

	private final Duration fleetTimeout;

	private final Log logger;

	private final TransactionTemplate transactionTemplate;

	private final ExecutorService executor;

	private final Set<String> running = ConcurrentHashMap.newKeySet();

	private final Set<String> done = ConcurrentHashMap.newKeySet();

	private final Map<String, Instant> retryAfter = new ConcurrentHashMap<>();

	// the migration whose run the step's one thread runs now: the others started wait
	// for it, queued
	private volatile @Nullable String current;

	/**
	 * Create a step.
	 * @param step the step, which names the thread and the history's records
	 * @param dataSource the application's data source, where the step is claimed
	 * @param ddlDataSource where the step's DDL session is opened: the application's data
	 * source, or one for the role zdm runs its DDL as ({@code zdm.ddl.user})
	 * @param history where the step's start and end are recorded
	 * @param registry the fleet, locked for the claim
	 * @param retryWait the wait before a failed run is tried again
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param logger the runner's logger, which reports a failed run
	 */
	ClaimedDdlStep(DdlStep step, DataSource dataSource, DataSource ddlDataSource, DdlHistoryRepository history,
			FleetRegistry registry, Duration retryWait, Duration fleetTimeout, Log logger) {
		this.step = step;
		this.ddlDataSource = ddlDataSource;
		this.history = history;
		this.registry = registry;
		this.retryWait = retryWait;
		this.fleetTimeout = fleetTimeout;
		this.logger = logger;
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		this.executor = Executors.newSingleThreadExecutor((runnable) -> {
			Thread thread = new Thread(runnable, "zdm-" + step.value());
			thread.setDaemon(true);
			return thread;
		});
	}

	/**
	 * Whether the step of a migration runs on this instance now or has finished here.
	 * @param migrationId the migration
	 * @return {@code true} if there is nothing to start
	 */
	boolean isRunningOrDone(String migrationId) {
		return this.done.contains(migrationId) || this.running.contains(migrationId);
	}

	/**
	 * Return the migration whose run of the step holds the step's thread while the run of
	 * a given migration, started, waits behind it: an instance runs one run of the step
	 * at a time.
	 * @param migrationId the migration whose run may wait
	 * @return the migration it waits for, or {@code null} if it runs, or is not started
	 */
	@Nullable String queuedBehind(String migrationId) {
		String current = this.current;
		return (current != null && !current.equals(migrationId) && this.running.contains(migrationId)) ? current : null;
	}

	/**
	 * Record that the step of a migration has finished, so it is not started again.
	 * @param migrationId the migration
	 */
	void done(String migrationId) {
		this.done.add(migrationId);
	}

	/**
	 * Start the step of a migration on the step's thread, unless it runs already or
	 * failed less than the retry wait ago. A run that fails is logged and tried again
	 * after the wait.
	 * @param migrationId the migration
	 * @param run the run
	 */
	void start(String migrationId, Runnable run) {
		start(migrationId, run, (ex) -> {
		});
	}

	/**
	 * Start the step of a migration on the step's thread, unless it runs already or
	 * failed less than the retry wait ago. A run that fails is logged and tried again
	 * after the wait.
	 * @param migrationId the migration
	 * @param run the run
	 * @param onFailure told of a failed run, before it is logged
	 */
	void start(String migrationId, Runnable run, Consumer<RuntimeException> onFailure) {
		Instant retry = this.retryAfter.get(migrationId);
		if (retry != null && Instant.now().isBefore(retry)) {
			return;
		}
		if (this.running.add(migrationId)) {
			this.executor.execute(() -> {
				this.current = migrationId;
				try {
					run.run();
				}
				catch (RuntimeException ex) {
					this.retryAfter.put(migrationId, Instant.now().plus(this.retryWait));
					onFailure.accept(ex);
					if (ex instanceof DdlStoppedException) {
						// the instance stops (a rolling deploy): nothing failed
						this.logger.info("zdm: " + this.step + " of migration '" + migrationId + "' stopped with the "
								+ "instance; it is resumed where it stopped, by the next instance that runs it: "
								+ ex.getMessage());
					}
					else if (lostConnection(ex)) {
						// a database restart: nothing to mend, and the step is resumed
						// where
						// it stopped, here or by another instance that gets the lock
						// first
						this.logger.warn("zdm: " + this.step + " of migration '" + migrationId + "' lost its "
								+ "database connection (a restart of the database?); it is resumed where it stopped, "
								+ "by this instance after " + this.retryWait + " or by another one first: "
								+ ex.getMessage());
					}
					else {
						this.logger.error("zdm: " + this.step + " of migration '" + migrationId + "' failed; it is "
								+ "retried after " + this.retryWait + ": " + ex.getMessage(), ex);
					}
				}
				finally {
					this.current = null;
					this.running.remove(migrationId);
				}
			});
		}
	}

	/**
	 * Run something with the migration's DDL lock held, on a session of its own, if no
	 * other session holds it.
	 * @param migrationId the migration
	 * @param locked what runs with the lock; it answers whether it ran (or finished) the
	 * step
	 * @return what {@code locked} answered, or {@code false} if the lock is held
	 * elsewhere
	 */
	boolean withLock(String migrationId, Predicate<DdlSession> locked) {
		return withLock(migrationId, locked, () -> {
		});
	}

	/**
	 * Run something with the migration's DDL lock held, on a session of its own, if no
	 * other session holds it.
	 * @param migrationId the migration
	 * @param locked what runs with the lock; it answers whether it ran (or finished) the
	 * step
	 * @param lockedElsewhere what runs instead when another session holds the lock
	 * @return what {@code locked} answered, or {@code false} if the lock is held
	 * elsewhere
	 */
	boolean withLock(String migrationId, Predicate<DdlSession> locked, Runnable lockedElsewhere) {
		try (DdlSession session = DdlSession.open(this.ddlDataSource)) {
			if (!session.tryLock(migrationId)) {
				lockedElsewhere.run();
				return false;
			}
			return locked.test(session);
		}
	}

	/**
	 * Claim the step in one transaction that holds the fleet's lock, where no instance
	 * changes phase or joins.
	 * @param migrationId the migration
	 * @param claim given the live instances and those that left the fleet less than the
	 * fleet timeout ago (not {@link FleetMember#live() live}: one stopped to be restarted
	 * comes back at the phase it is deployed with, and the step cannot be undone), checks
	 * that they allow the step and marks it claimed; it answers whether it did
	 * @return {@code true} if this instance claimed the step
	 */
	boolean claim(String migrationId, Predicate<List<FleetMember>> claim) {
		return Boolean.TRUE.equals(this.transactionTemplate.execute((transaction) -> claim
			.test(this.registry.lockLiveAndRecentlyLeftMembers(migrationId, this.fleetTimeout))));
	}

	/**
	 * Run the step's DDL, recording its start and its end (done, or failed with the
	 * error) in the DDL history. A run that fails after another instance has taken the
	 * step over (this run's session was lost, as in a database restart, so the lock went
	 * with it) records nothing and is not retried after the wait: the step is the other
	 * instance's now, and this one finds it done, or resumes it once free.
	 * @param migrationId the migration
	 * @param instanceId this instance, recorded as the one that runs it
	 * @param ddl the DDL
	 * @return {@code true} if the DDL ran to its end, {@code false} if another instance
	 * took the step over
	 */
	boolean runRecorded(String migrationId, String instanceId, Runnable ddl) {
		this.history.stepStarted(migrationId, this.step, instanceId);
		try {
			ddl.run();
			this.history.stepDone(migrationId, this.step);
			return true;
		}
		catch (RuntimeException ex) {
			if (this.history.stepFailed(migrationId, this.step, instanceId, String.valueOf(ex.getMessage()))) {
				throw ex;
			}
			this.logger.warn("zdm: " + this.step + " of migration '" + migrationId + "' lost its session on instance "
					+ instanceId + " (" + ex.getMessage() + "); another instance has taken it over since, so this "
					+ "one records nothing and leaves the step to it");
			return false;
		}
	}

	// a connection failure (SQLSTATE class 08, as the driver's I/O errors), the server
	// shutting down (57P01 to 57P03), or HikariCP's "Connection is closed", which it
	// throws without a SQLSTATE on a connection it closed after such a failure (the DDL
	// session's next statement after a database restart)
	static boolean lostConnection(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLException sql && ((sql.getSQLState() != null
					&& (sql.getSQLState().startsWith("08") || sql.getSQLState().matches("57P0[123]")))
					|| (sql.getSQLState() == null && "Connection is closed".equals(sql.getMessage())))) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Stop the step's thread, waiting a few seconds for a run to end.
	 */
	void stop() {
		this.executor.shutdownNow();
		try {
			this.executor.awaitTermination(5, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
