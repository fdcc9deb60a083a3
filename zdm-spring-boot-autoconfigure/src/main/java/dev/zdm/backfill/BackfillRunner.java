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
import org.springframework.jdbc.core.JdbcTemplate;
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
 * One run of one migration's backfill on this instance. A run takes a connection of its own for its whole
 * length and holds a session-level advisory lock on it, so that one runner works for the fleet; when the
 * connection or the process dies PostgreSQL releases the lock and another instance's run takes over from the
 * checkpoint, which commits with each batch.
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

	private final FleetRegistry registry;

	private final MigrationStateRepository states;

	private final TransactionTemplate transactionTemplate;

	private final Object monitor = new Object();

	private volatile boolean stopRequested;

	private volatile boolean eligibilityLost;

	private volatile @Nullable Thread vacuumThread;

	private int earlierFailures;

	private @Nullable String earlierFailure;

	/**
	 * Create a runner.
	 * @param repair whether the run may write the new columns; {@code false} once this instance reads them, as the
	 * new columns are then the source of truth and a verification only reports
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
		this.statements = new BackfillStatements(migration);
		this.registry = new FleetRegistry(dataSource);
		this.states = new MigrationStateRepository(dataSource);
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
	}

	/**
	 * Have the run record failures of earlier runs that could not be recorded then, as when the database was
	 * down.
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
	 * Say that a heartbeat found the fleet no longer allows the backfill, so that a verification in progress is
	 * not recorded as holding.
	 */
	void eligibilityLost() {
		this.eligibilityLost = true;
		requestStop();
	}

	/**
	 * Run the backfill, or its verification, if this instance can become the fleet's runner and there is work.
	 * @return how the run ended
	 * @throws DataAccessException if the database failed in a way a retry in this run cannot mend
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
				+ this.instanceId + ((progress.lastKey() != null) ? " from key " + progress.lastKey() : ""));
		if (!copied) {
			Outcome outcome = copy(connection, repository, progress);
			if (outcome != null) {
				return outcome;
			}
		}
		return verify(connection, repository);
	}

	private @Nullable Outcome copy(Connection connection, BackfillRepository repository, BackfillProgress progress)
			throws SQLException {
		String id = this.migration.id();
		JdbcTemplate jdbc = repository.jdbcTemplate();
		String upperBound = progress.upperBound();
		long estimated = (progress.rowsEstimated() != null) ? progress.rowsEstimated() : 0;
		if (progress.startedAt() == null) {
			upperBound = jdbc.queryForObject(this.statements.maxKey(), String.class);
			estimated = estimateRows(jdbc, repository, upperBound);
			repository.start(id, upperBound, estimated);
			logger.info("zdm: migration '" + id + "': backfilling about " + estimated + " rows up to key " + upperBound);
		}
		if (upperBound == null) {
			repository.markCopied(id);
			return null;
		}
		String lastKey = progress.lastKey();
		long rowsDone = progress.rowsDone();
		int batchSize = (progress.batchSize() != null) ? progress.batchSize() : this.settings.initialBatchSize();
		long runRows = 0;
		long updatedSinceVacuum = 0;
		long runStart = System.nanoTime();
		int failures = 0;
		while (true) {
			Outcome interrupted = checkBeforeBatch(repository);
			if (interrupted != null) {
				return interrupted;
			}
			long batchStart = System.nanoTime();
			Batch observed = this.listener.batchStarting(this.migration, BatchKind.COPY, batchSize);
			CopiedBatch batch;
			try {
				batch = copyBatch(connection, repository, lastKey, upperBound, batchSize, rowsDone + runRows, estimated,
						runRows, runStart);
				failures = 0;
			}
			catch (DataAccessException ex) {
				observed.failed(ex, isRetryable(ex));
				batchSize = afterFailedBatch(repository, ex, batchSize, ++failures);
				continue;
			}
			catch (SQLException | RuntimeException ex) {
				observed.failed(ex, false);
				throw ex;
			}
			observed.copied(batch.rows(), batch.updated());
			if (batch.rows() == 0) {
				repository.markCopied(id);
				logger.info("zdm: migration '" + id + "': backfill copied " + (rowsDone + runRows) + " rows");
				return null;
			}
			lastKey = batch.lastKey();
			runRows += batch.rows();
			updatedSinceVacuum += batch.updated();
			batchSize = this.pacer.nextBatchSize(batchSize, Duration.ofNanos(System.nanoTime() - batchStart));
			if (batch.paused()) {
				repository.setState(id, BackfillState.PAUSED, null);
				this.listener.holdsBack(this.migration, ThrottleReason.OPERATOR);
				return Outcome.PAUSED;
			}
			if (this.settings.vacuumEveryRows() > 0 && updatedSinceVacuum >= this.settings.vacuumEveryRows()
					&& startVacuum()) {
				updatedSinceVacuum = 0;
			}
			sleep(this.settings.pause());
		}
	}

	private CopiedBatch copyBatch(Connection connection, BackfillRepository repository, @Nullable String lastKey,
			String upperBound, int batchSize, long rowsDoneBefore, long estimated, long runRowsBefore, long runStart)
			throws SQLException {
		JdbcTemplate jdbc = repository.jdbcTemplate();
		boolean first = lastKey == null;
		return inTransaction(connection, repository, () -> {
			Object[] boundArgs = first ? new Object[] { BackfillRepository.key(upperBound), batchSize }
					: new Object[] { BackfillRepository.key(lastKey), BackfillRepository.key(upperBound), batchSize };
			KeyRange range = jdbc.queryForObject(this.statements.batch(first),
					(rs, row) -> new KeyRange(rs.getLong(1), 0, rs.getString(2)), boundArgs);
			if (range == null || range.rows() == 0 || range.high() == null) {
				return new CopiedBatch(0, 0, lastKey, false);
			}
			int updated = jdbc.update(this.statements.copy(first), first ? new Object[] { BackfillRepository.key(range.high()) }
					: new Object[] { BackfillRepository.key(lastKey), BackfillRepository.key(range.high()) });
			long runRows = runRowsBefore + range.rows();
			double seconds = Math.max(1e-3, (System.nanoTime() - runStart) / 1e9);
			double rate = runRows / seconds;
			long done = rowsDoneBefore + range.rows();
			Double eta = (estimated > 0) ? Math.max(0, estimated - done) / rate : null;
			boolean paused = repository.checkpoint(this.migration.id(), this.instanceId, range.high(), range.rows(),
					updated, batchSize, rate, eta, BackfillState.RUNNING);
			return new CopiedBatch(range.rows(), updated, range.high(), paused);
		});
	}

	private Outcome verify(Connection connection, BackfillRepository repository) throws SQLException {
		String id = this.migration.id();
		repository.startVerifying(id);
		Instant startedAt = Instant.now();
		this.eligibilityLost = false;
		long repaired = 0;
		int passes = 0;
		Pass pass;
		do {
			passes++;
			BackfillListener.Pass observed = this.listener.verificationPassStarting(this.migration, passes);
			try {
				pass = verificationPass(connection, repository);
			}
			catch (SQLException | RuntimeException ex) {
				observed.stopped();
				throw ex;
			}
			if (pass == null) {
				observed.stopped();
				return this.stopRequested ? Outcome.STOPPED : Outcome.PAUSED;
			}
			observed.finished(pass.checked(), pass.disagreeing(), pass.repaired());
			repaired += pass.repaired();
			logger.info("zdm: migration '" + id + "': verification pass " + passes + " checked " + pass.checked()
					+ " rows, " + pass.disagreeing() + " disagreed and were repaired");
		}
		while (pass.disagreeing() > 0 && this.repair && passes < this.settings.verificationPasses());
		boolean rowsAgree = pass.disagreeing() == 0;
		FleetCheck fleet = recordIfFleetAllows(rowsAgree);
		boolean succeeded = rowsAgree && fleet.allowed();
		repository.insertVerification(new BackfillVerification(id, this.instanceId, startedAt, Instant.now(), passes,
				pass.checked(), repaired, pass.disagreeing(), succeeded, fleet.description()));
		this.listener.verificationFinished(this.migration, passes, succeeded);
		if (succeeded) {
			repository.setState(id, BackfillState.VERIFIED, null);
			logger.info("zdm: migration '" + id + "': backfill verified for fleet " + fleet.description());
			return Outcome.VERIFIED;
		}
		String reason = rowsAgree ? "the fleet no longer allowed the backfill while verifying: " + fleet.description()
				: pass.disagreeing() + " rows still disagreed after " + passes + " passes"
						+ (this.repair ? "" : " (not repaired: this instance reads the new columns, which are now "
								+ "the source of truth)");
		if (this.repair) {
			this.states.voidVerification(id, "re-verification failed: " + reason);
		}
		repository.setState(id, BackfillState.FAILED, reason);
		repository.recordError(id, 1, "verification failed: " + reason);
		logger.warn("zdm: migration '" + id + "': backfill verification failed: " + reason);
		return Outcome.VERIFICATION_FAILED;
	}

	private @Nullable Pass verificationPass(Connection connection, BackfillRepository repository) throws SQLException {
		String lastKey = null;
		long checked = 0;
		long disagreeing = 0;
		long repaired = 0;
		int batchSize = this.settings.initialBatchSize();
		int failures = 0;
		while (true) {
			if (checkBeforeBatch(repository) != null) {
				return null;
			}
			long batchStart = System.nanoTime();
			Batch observed = this.listener.batchStarting(this.migration, BatchKind.VERIFY, batchSize);
			VerifiedBatch batch;
			try {
				batch = verifyBatch(connection, repository, lastKey, batchSize);
				failures = 0;
			}
			catch (DataAccessException ex) {
				observed.failed(ex, isRetryable(ex));
				batchSize = afterFailedBatch(repository, ex, batchSize, ++failures);
				continue;
			}
			catch (SQLException | RuntimeException ex) {
				observed.failed(ex, false);
				throw ex;
			}
			observed.verified(batch.rows(), batch.disagreeing(), batch.repaired());
			if (batch.rows() == 0) {
				return new Pass(checked, disagreeing, repaired);
			}
			checked += batch.rows();
			disagreeing += batch.disagreeing();
			repaired += batch.repaired();
			lastKey = batch.lastKey();
			batchSize = this.pacer.nextBatchSize(batchSize, Duration.ofNanos(System.nanoTime() - batchStart));
			if (batch.paused()) {
				repository.setState(this.migration.id(), BackfillState.PAUSED, null);
				this.listener.holdsBack(this.migration, ThrottleReason.OPERATOR);
				return null;
			}
			sleep(this.settings.pause());
		}
	}

	private VerifiedBatch verifyBatch(Connection connection, BackfillRepository repository, @Nullable String lastKey,
			int batchSize) throws SQLException {
		JdbcTemplate jdbc = repository.jdbcTemplate();
		boolean first = lastKey == null;
		return inTransaction(connection, repository, () -> {
			Object[] args = first ? new Object[] { batchSize }
					: new Object[] { BackfillRepository.key(lastKey), batchSize };
			KeyRange range = jdbc.queryForObject(this.statements.verify(first),
					(rs, row) -> new KeyRange(rs.getLong(1), rs.getLong(2), rs.getString(3)), args);
			if (range == null || range.rows() == 0 || range.high() == null) {
				return new VerifiedBatch(0, 0, 0, lastKey, false);
			}
			int repaired = 0;
			if (range.disagreeing() > 0 && this.repair) {
				repaired = jdbc.update(this.statements.repair(first), first
						? new Object[] { BackfillRepository.key(range.high()) }
						: new Object[] { BackfillRepository.key(lastKey), BackfillRepository.key(range.high()) });
			}
			boolean paused = repository.setState(this.migration.id(), BackfillState.VERIFYING, null);
			return new VerifiedBatch(range.rows(), range.disagreeing(), repaired, range.high(), paused);
		});
	}

	/**
	 * Record the verification as holding for the live fleet, under the lock the phase controller decides under, if
	 * the fleet still allows the backfill: every live instance at least at dual-write, this one at backfill or
	 * later, and no heartbeat during the verification having found otherwise.
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
						+ ((member.applicationVersion() != null) ? " (version " + member.applicationVersion() + ")" : ""))
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
	private @Nullable Outcome checkBeforeBatch(BackfillRepository repository) {
		String id = this.migration.id();
		boolean throttled = false;
		@Nullable ThrottleReason heldBackFor = null;
		long heldBackSince = 0;
		while (true) {
			if (this.stopRequested) {
				repository.setState(id, BackfillState.PENDING, "runner " + this.instanceId + " stopped");
				return Outcome.STOPPED;
			}
			HoldBack holdBack = this.pacer.holdBack();
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

	private long estimateRows(JdbcTemplate jdbc, BackfillRepository repository, @Nullable String upperBound) {
		if (upperBound == null) {
			return 0;
		}
		long estimate = repository.estimatedRows(this.migration.table().quoted());
		if (estimate > 0) {
			return estimate;
		}
		Long counted = jdbc.queryForObject(this.statements.countUpTo(), Long.class, BackfillRepository.key(upperBound));
		return (counted != null) ? counted : 0;
	}

	/**
	 * Start a {@code VACUUM} of the table on a connection of its own, so that batches go on meanwhile, unless
	 * one still runs.
	 * @return {@code true} if started
	 */
	private boolean startVacuum() {
		Thread running = this.vacuumThread;
		if (running != null && running.isAlive()) {
			return false;
		}
		Thread thread = new Thread(this::vacuum, "zdm-backfill-vacuum-" + this.migration.id());
		thread.setDaemon(true);
		thread.start();
		this.vacuumThread = thread;
		return true;
	}

	private void vacuum() {
		try (Connection connection = this.dataSource.getConnection()) {
			connection.setAutoCommit(true);
			BackfillRepository repository = new BackfillRepository(new SingleConnectionDataSource(connection, true));
			repository.setSessionLockTimeout(this.settings.lockTimeout());
			try {
				repository.jdbcTemplate().execute(this.statements.vacuum());
			}
			finally {
				repository.resetLockTimeout();
			}
		}
		catch (SQLException | DataAccessException ex) {
			logger.info("zdm: migration '" + this.migration.id() + "': skipped a VACUUM of " + this.migration.table()
					+ ": " + describe(ex));
		}
	}

	/**
	 * Handle a batch that failed: rethrow what retrying cannot help, otherwise record the error, back off and
	 * return the halved batch size to retry with.
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

	private record KeyRange(long rows, long disagreeing, @Nullable String high) {

	}

	private record CopiedBatch(long rows, int updated, @Nullable String lastKey, boolean paused) {

	}

	private record VerifiedBatch(long rows, long disagreeing, int repaired, @Nullable String lastKey, boolean paused) {

	}

	private record Pass(long checked, long disagreeing, long repaired) {

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
