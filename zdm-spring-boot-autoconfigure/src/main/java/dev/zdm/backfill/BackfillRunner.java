package dev.zdm.backfill;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.backfill.BackfillListener.Batch;
import dev.zdm.backfill.BackfillListener.BatchKind;
import dev.zdm.backfill.BackfillPacer.HoldBack;
import dev.zdm.backfill.BackfillRepository.StoredProgress;
import dev.zdm.fleet.FleetMember;
import dev.zdm.fleet.FleetRegistry;
import dev.zdm.locks.LockInspector;
import dev.zdm.locks.ReplicationLagInspector;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.phase.MigrationStateRepository;

/**
 * One run of one migration's backfill on this instance. A run takes a connection of its
 * own for its whole length and holds a session-level advisory lock on it, so that one
 * runner works for the fleet; when the connection or the process dies PostgreSQL releases
 * the lock and another instance's run takes over from the checkpoint, which commits with
 * each batch.
 */
final class BackfillRunner {

	private static final Log logger = LogFactory.getLog(BackfillRunner.class);

	private static final String LOCK_NOT_AVAILABLE = "55P03";

	private static final String QUERY_CANCELED = "57014";

	private static final String DEADLOCK_DETECTED = "40P01";

	private static final String SERIALIZATION_FAILURE = "40001";

	private final DataSource dataSource;

	private final MigrationDefinition migration;

	private final BackfillSettings settings;

	private final String instanceId;

	private final Duration fleetTimeout;

	private final boolean repair;

	private final BackfillPacer pacer;

	private final BackfillListener listener;

	private final BackfillStatements statements;

	private final BackfillBatches batches;

	private final BackfillVacuum vacuum;

	private final FleetRegistry registry;

	private final MigrationStateRepository states;

	private final TransactionTemplate transactionTemplate;

	private final Object monitor = new Object();

	private volatile boolean stopRequested;

	private volatile boolean eligibilityLost;

	private int earlierFailures;

	private @Nullable String earlierFailure;

	/**
	 * Create a runner.
	 * @param repair whether the run may write the new columns; {@code false} once this
	 * instance reads them, as the new columns are then the source of truth and a
	 * verification only reports
	 */
	BackfillRunner(DataSource dataSource, MigrationDefinition migration, String instanceId, Duration fleetTimeout,
			LockInspector lockInspector, @Nullable ReplicationLagInspector replicationLagInspector,
			List<BackfillThrottle> throttles, boolean repair, BackfillListener listener) {
		this.dataSource = dataSource;
		this.migration = migration;
		this.settings = migration.backfill();
		this.instanceId = instanceId;
		this.fleetTimeout = fleetTimeout;
		this.repair = repair;
		this.pacer = new BackfillPacer(migration, this.settings, lockInspector, replicationLagInspector, throttles);
		this.listener = listener;
		this.statements = BackfillStatements.of(migration);
		this.batches = new BackfillBatches(migration, this.statements, instanceId, repair);
		this.vacuum = new BackfillVacuum(dataSource, migration, this.statements);
		this.registry = new FleetRegistry(dataSource);
		this.states = new MigrationStateRepository(dataSource);
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
	}

	/**
	 * Have the run record failures of earlier runs that could not be recorded then, as
	 * when the database was down.
	 * @param count how many
	 * @param failure the last one
	 */
	void recordEarlierFailures(int count, String failure) {
		this.earlierFailures = count;
		this.earlierFailure = failure;
	}

	/**
	 * Ask the run to stop after its current batch.
	 */
	void requestStop() {
		this.stopRequested = true;
		synchronized (this.monitor) {
			this.monitor.notifyAll();
		}
	}

	/**
	 * Say that a heartbeat found the fleet no longer allows the backfill, so that a
	 * verification in progress is not recorded as holding.
	 */
	void eligibilityLost() {
		this.eligibilityLost = true;
		requestStop();
	}

	/**
	 * Run the backfill, or its verification, if this instance can become the fleet's
	 * runner and there is work.
	 * @return how the run ended
	 * @throws DataAccessException if the database failed in a way a retry in this run
	 * cannot mend
	 */
	Outcome run() throws SQLException {
		String id = this.migration.id();
		try (Connection connection = this.dataSource.getConnection()) {
			connection.setAutoCommit(true);
			BackfillRepository repository = new BackfillRepository(new SingleConnectionDataSource(connection, true));
			repository.ensure(id);
			StoredProgress stored = Objects.requireNonNull(repository.find(id));
			if (stored.progress().paused()) {
				return Outcome.PAUSED;
			}
			boolean verified = this.states.find(id).isVerified();
			if (verified && !stored.verifyRequested()) {
				return Outcome.NOTHING_TO_DO;
			}
			if (!repository.tryLock(id)) {
				return Outcome.NOT_RUNNER;
			}
			try {
				repository.keepAlive();
				return runHoldingLock(connection, repository);
			}
			finally {
				release(connection, repository);
			}
		}
	}

	private Outcome runHoldingLock(Connection connection, BackfillRepository repository) throws SQLException {
		String id = this.migration.id();
		// read again under the lock: the previous runner may have moved on since
		StoredProgress stored = Objects.requireNonNull(repository.find(id));
		BackfillProgress progress = stored.progress();
		if (progress.paused()) {
			return Outcome.PAUSED;
		}
		if (this.states.find(id).isVerified() && !stored.verifyRequested()) {
			return Outcome.NOTHING_TO_DO;
		}
		boolean copied = progress.copiedAt() != null;
		if (!copied && !this.repair) {
			return Outcome.NOTHING_TO_DO;
		}
		repository.claim(id, this.instanceId, copied ? BackfillState.VERIFYING : BackfillState.RUNNING);
		if (this.earlierFailures > 0 && this.earlierFailure != null) {
			repository.recordError(id, this.earlierFailures, this.earlierFailure);
		}
		logger.info("zdm: migration '" + id + "': backfill " + (copied ? "verification" : "run") + " starts on "
				+ this.instanceId + ((progress.lastKey() != null && !copied) ? " from key " + progress.lastKey() : ""));
		if (!copied) {
			Outcome outcome = copy(connection, repository, progress);
			if (outcome != null) {
				return outcome;
			}
		}
		return verify(connection, repository, Objects.requireNonNull(repository.find(id)));
	}

	private @Nullable Outcome copy(Connection connection, BackfillRepository repository, BackfillProgress progress)
			throws SQLException {
		String id = this.migration.id();
		String upperBound = progress.upperBound();
		Long estimated = progress.rowsEstimated();
		if (progress.startedAt() == null) {
			upperBound = repository.jdbcTemplate().queryForObject(this.statements.copyBound, String.class);
			estimated = this.batches.estimateRows(repository, upperBound);
			repository.start(id, upperBound, estimated);
			logger
				.info("zdm: migration '" + id + "': backfilling about " + estimated + " rows up to key " + upperBound);
		}
		if (upperBound != null) {
			int batchSize = (progress.batchSize() != null) ? progress.batchSize() : this.settings.initialBatchSize();
			BackfillWalk walk = BackfillWalk.copy(upperBound, progress.lastKey(), progress.rowsDone(), estimated,
					batchSize);
			Outcome outcome = walk(connection, repository, walk);
			if (outcome != null) {
				return outcome;
			}
		}
		repository.markCopied(id);
		logger.info("zdm: migration '" + id + "': backfill copied every row up to key " + upperBound);
		return null;
	}

	/**
	 * Verify every row up to a bound fixed when each pass starts; later rows are written
	 * with both sides in sync. Resumes a pass in flight from its checkpoint unless a new
	 * verification was asked for.
	 */
	private Outcome verify(Connection connection, BackfillRepository repository, StoredProgress stored)
			throws SQLException {
		String id = this.migration.id();
		VerificationProgress inFlight = stored.progress().verifying();
		int batchSize = this.settings.verificationBatchSize();
		BackfillWalk walk;
		Instant startedAt;
		if (inFlight == null || inFlight.upperBound() == null || stored.verifyRequested()) {
			startedAt = Instant.now();
			walk = startPass(repository, 1, 0);
		}
		else {
			startedAt = (inFlight.startedAt() != null) ? inFlight.startedAt() : Instant.now();
			walk = BackfillWalk.verification(inFlight.pass(), inFlight.upperBound(), inFlight.lastKey(),
					inFlight.rowsChecked(), inFlight.rowsToCheck(), inFlight.rowsDisagreeing(), inFlight.rowsRepaired(),
					batchSize);
			logger.info("zdm: migration '" + id + "': verification pass " + walk.pass() + " resumes from key "
					+ walk.lastKey() + " after " + walk.rows() + " rows");
		}
		while (true) {
			BackfillListener.Pass observed = this.listener.verificationPassStarting(this.migration, walk.pass());
			long changedBefore = walk.changed();
			Outcome interrupted;
			try {
				interrupted = walk(connection, repository, walk);
			}
			catch (SQLException | RuntimeException ex) {
				observed.stopped();
				throw ex;
			}
			if (interrupted != null) {
				observed.stopped();
				return interrupted;
			}
			observed.finished(walk.rows(), walk.disagreeing(), walk.changed() - changedBefore);
			logger.info("zdm: migration '" + id + "': verification pass " + walk.pass() + " checked " + walk.rows()
					+ " rows up to key " + walk.upperBound() + ", " + walk.disagreeing() + " disagreed"
					+ ((this.repair && walk.disagreeing() > 0) ? " and were repaired" : ""));
			if (walk.disagreeing() == 0 || !this.repair || walk.pass() >= this.settings.verificationPasses()) {
				break;
			}
			walk = startPass(repository, walk.pass() + 1, walk.changed());
		}
		boolean rowsAgree = walk.disagreeing() == 0;
		FleetCheck fleet = recordIfFleetAllows(rowsAgree);
		boolean succeeded = rowsAgree && fleet.allowed();
		repository.finishVerifying(id);
		repository.insertVerification(new BackfillVerification(id, this.instanceId, startedAt, Instant.now(),
				walk.pass(), walk.rows(), walk.changed(), walk.disagreeing(), succeeded, fleet.description()));
		this.listener.verificationFinished(this.migration, walk.pass(), succeeded);
		if (succeeded) {
			repository.setState(id, BackfillState.VERIFIED, null);
			logger.info("zdm: migration '" + id + "': backfill verified for fleet " + fleet.description());
			return Outcome.VERIFIED;
		}
		String reason = rowsAgree ? "the fleet no longer allowed the backfill while verifying: " + fleet.description()
				: walk.disagreeing() + " rows still disagreed after " + walk.pass() + " passes" + (this.repair ? ""
						: " (not repaired: this instance reads the new side, which is now " + "the source of truth)");
		if (this.repair) {
			this.states.voidVerification(id, "re-verification failed: " + reason);
		}
		repository.setState(id, BackfillState.FAILED, reason);
		repository.recordError(id, 1, "verification failed: " + reason);
		logger.warn("zdm: migration '" + id + "': backfill verification failed: " + reason);
		return Outcome.VERIFICATION_FAILED;
	}

	private BackfillWalk startPass(BackfillRepository repository, int pass, long repairedBefore) {
		String upperBound = repository.jdbcTemplate().queryForObject(this.statements.verifyBound, String.class);
		Long rowsToCheck = this.batches.estimateRows(repository, upperBound);
		if (pass == 1) {
			repository.startVerifying(this.migration.id(), upperBound, rowsToCheck);
		}
		else {
			repository.nextPass(this.migration.id(), this.instanceId, upperBound, rowsToCheck);
		}
		logger.info("zdm: migration '" + this.migration.id() + "': verification pass " + pass + " checks about "
				+ rowsToCheck + " rows up to key " + upperBound);
		return BackfillWalk.verification(pass, upperBound, null, 0, rowsToCheck, 0, repairedBefore,
				this.settings.verificationBatchSize());
	}

	/**
	 * The batch loop shared by the copy and the verification: walk the key up to the
	 * walk's upper bound, one batch per transaction with its checkpoint, until a batch
	 * finds no row.
	 * @return {@code null} when the walk is done, else how the run must end
	 */
	private @Nullable Outcome walk(Connection connection, BackfillRepository repository, BackfillWalk walk)
			throws SQLException {
		if (walk.upperBound() == null) {
			return null; // both sides were empty when the walk started
		}
		int failures = 0;
		while (true) {
			Outcome interrupted = checkBeforeBatch(repository, walk.verifying());
			if (interrupted != null) {
				return interrupted;
			}
			long batchStart = System.nanoTime();
			Batch observed = this.listener.batchStarting(this.migration,
					walk.verifying() ? BatchKind.VERIFY : BatchKind.COPY, walk.batchSize());
			BackfillBatches.Batch batch;
			try {
				batch = inTransaction(connection, repository, () -> this.batches.run(repository, walk));
				failures = 0;
			}
			catch (DataAccessException ex) {
				observed.failed(ex, isRetryable(ex));
				walk.batchSize(afterFailedBatch(repository, ex, walk.batchSize(), ++failures));
				continue;
			}
			catch (SQLException | RuntimeException ex) {
				observed.failed(ex, false);
				throw ex;
			}
			if (walk.verifying()) {
				observed.verified(batch.rows(), batch.disagreeing(), batch.changed());
			}
			else {
				observed.copied(batch.rows(), batch.changed());
			}
			if (batch.rows() == 0 || batch.highKey() == null) {
				return null;
			}
			walk.advance(batch.highKey(), batch.rows(), batch.changed(), batch.disagreeing());
			afterBatch(walk, Duration.ofNanos(System.nanoTime() - batchStart));
			if (batch.paused()) {
				repository.setState(this.migration.id(), BackfillState.PAUSED, null);
				this.listener.holdsBack(this.migration, ThrottleReason.OPERATOR);
				return Outcome.PAUSED;
			}
			sleep(walk.verifying() ? this.settings.verificationPause() : this.settings.pause());
		}
	}

	/**
	 * What follows each committed batch: the progress log, the next copy batch's size and
	 * the copy's {@code VACUUM}s. A recorder of batch metrics belongs here.
	 */
	private void afterBatch(BackfillWalk walk, Duration took) {
		String line = walk.progressLine();
		if (line != null) {
			logger.info("zdm: migration '" + this.migration.id() + "': " + line);
		}
		if (!walk.verifying()) {
			walk.batchSize(this.pacer.nextBatchSize(walk.batchSize(), took));
			if (this.settings.vacuumEveryRows() > 0 && walk.changedSinceVacuum() >= this.settings.vacuumEveryRows()
					&& this.vacuum.start()) {
				walk.vacuumed();
			}
		}
	}

	/**
	 * Record the verification as holding for the live fleet, under the lock the phase
	 * controller decides under, if the fleet still allows the backfill: every live
	 * instance at least at dual-write, this one at backfill or later, and no heartbeat
	 * during the verification having found otherwise.
	 */
	private FleetCheck recordIfFleetAllows(boolean rowsAgree) {
		String id = this.migration.id();
		return Objects.requireNonNull(this.transactionTemplate.execute((transaction) -> {
			this.registry.lockMigration(id);
			List<FleetMember> live = this.registry.members(id, this.fleetTimeout)
				.stream()
				.filter(FleetMember::live)
				.toList();
			String description = live.stream()
				.map((member) -> member.instanceId() + " at " + member.effectivePhase()
						+ ((member.applicationVersion() != null) ? " (version " + member.applicationVersion() + ")"
								: ""))
				.collect(Collectors.joining(", "));
			boolean allowed = !this.eligibilityLost
					&& live.stream().allMatch((member) -> member.effectivePhase().isAtLeast(Phase.DUAL_WRITE))
					&& live.stream()
						.anyMatch((member) -> member.instanceId().equals(this.instanceId)
								&& member.effectivePhase().isAtLeast(Phase.BACKFILL));
			if (allowed && rowsAgree) {
				this.states.markVerified(id, description);
			}
			return new FleetCheck(allowed, description);
		}));
	}

	/**
	 * Stop, pause or hold back before a batch as asked.
	 * @return the outcome if the run must end, {@code null} to run the batch
	 */
	private @Nullable Outcome checkBeforeBatch(BackfillRepository repository, boolean verifying) {
		String id = this.migration.id();
		boolean throttled = false;
		@Nullable ThrottleReason heldBackFor = null;
		long heldBackSince = 0;
		while (true) {
			if (this.stopRequested) {
				repository.setState(id, BackfillState.PENDING, "runner " + this.instanceId + " stopped");
				return Outcome.STOPPED;
			}
			HoldBack holdBack = verifying ? this.pacer.verificationHoldBack() : this.pacer.holdBack();
			long now = System.nanoTime();
			if (heldBackFor != null) {
				this.listener.heldBack(this.migration, heldBackFor, Duration.ofNanos(now - heldBackSince));
			}
			if (holdBack == null) {
				if (throttled) {
					logger.info("zdm: migration '" + id + "': backfill goes on");
				}
				return null;
			}
			String reason = holdBack.description();
			if (!throttled) {
				logger.info("zdm: migration '" + id + "': backfill holds back: " + reason);
				throttled = true;
			}
			if (holdBack.reason() != heldBackFor) {
				this.listener.holdsBack(this.migration, holdBack.reason());
			}
			heldBackFor = holdBack.reason();
			heldBackSince = now;
			if (repository.setState(id, BackfillState.THROTTLED, reason)) {
				repository.setState(id, BackfillState.PAUSED, null);
				this.listener.holdsBack(this.migration, ThrottleReason.OPERATOR);
				return Outcome.PAUSED;
			}
			sleep(this.settings.throttleCheckInterval());
		}
	}

	/**
	 * Handle a batch that failed: rethrow what retrying cannot help, otherwise record the
	 * error, back off and return the halved batch size to retry with.
	 */
	private int afterFailedBatch(BackfillRepository repository, DataAccessException ex, int batchSize, int failures) {
		if (!isRetryable(ex)) {
			throw ex;
		}
		int smaller = Math.max(this.settings.minBatchSize(), batchSize / 2);
		repository.recordError(this.migration.id(), 1, describe(ex));
		logger.warn("zdm: migration '" + this.migration.id() + "': backfill batch gave up (" + describe(ex)
				+ "); retrying with " + smaller + " rows");
		sleep(this.settings.throttleCheckInterval().multipliedBy(Math.min(failures, 10)));
		return smaller;
	}

	private <T> T inTransaction(Connection connection, BackfillRepository repository, TransactionWork<T> work)
			throws SQLException {
		connection.setAutoCommit(false);
		boolean committed = false;
		try {
			repository.setLocalTimeouts(this.settings.lockTimeout(), this.settings.statementTimeout());
			T result = work.run();
			connection.commit();
			committed = true;
			connection.setAutoCommit(true);
			return result;
		}
		finally {
			if (!committed) {
				rollbackQuietly(connection);
			}
		}
	}

	private static void rollbackQuietly(Connection connection) {
		try {
			connection.rollback();
			connection.setAutoCommit(true);
		}
		catch (SQLException ex) {
			// the connection is gone: the failure that brought us here ends the run
		}
	}

	private void release(Connection connection, BackfillRepository repository) {
		try {
			if (!connection.getAutoCommit()) {
				connection.rollback();
				connection.setAutoCommit(true);
			}
			repository.unlock(this.migration.id());
		}
		catch (SQLException | DataAccessException ex) {
			// the connection is gone, and the lock with it
		}
	}

	private void sleep(Duration duration) {
		if (duration.isZero() || duration.isNegative()) {
			return;
		}
		synchronized (this.monitor) {
			if (this.stopRequested) {
				return;
			}
			try {
				this.monitor.wait(Math.max(1, duration.toMillis()));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				this.stopRequested = true;
			}
		}
	}

	static boolean isRetryable(DataAccessException ex) {
		if (ex.getMostSpecificCause() instanceof SQLException sqlException) {
			String state = sqlException.getSQLState();
			return LOCK_NOT_AVAILABLE.equals(state) || QUERY_CANCELED.equals(state) || DEADLOCK_DETECTED.equals(state)
					|| SERIALIZATION_FAILURE.equals(state);
		}
		return false;
	}

	static String describe(Throwable ex) {
		Throwable cause = (ex instanceof DataAccessException dataAccess) ? dataAccess.getMostSpecificCause() : ex;
		String message = cause.getMessage();
		return cause.getClass().getSimpleName() + ": " + ((message != null) ? message.strip() : "");
	}

	@FunctionalInterface
	private interface TransactionWork<T> {

		T run() throws SQLException;

	}

	private record FleetCheck(boolean allowed, String description) {

	}

	/**
	 * How a run ended.
	 */
	enum Outcome {

		NOT_RUNNER, NOTHING_TO_DO, PAUSED, STOPPED, VERIFIED, VERIFICATION_FAILED

	}

}
