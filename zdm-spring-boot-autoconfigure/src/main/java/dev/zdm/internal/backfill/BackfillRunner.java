package dev.zdm.internal.backfill;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.backfill.VerificationProgress;
import dev.zdm.internal.backfill.BackfillListener.Batch;
import dev.zdm.internal.backfill.BackfillListener.BatchKind;
import dev.zdm.internal.backfill.BackfillRepository.StoredProgress;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;

/**
 * One run of one migration's backfill on this instance: the copy, then the verification
 * passes, each a {@link BackfillWalk walk} over the key through one batch loop. The run
 * holds a {@link BackfillSession session} of its own, whose advisory lock makes it the
 * fleet's runner; it holds back as its {@link BackfillHoldBack pacing} says, and the
 * {@link BackfillVerificationGate gate} records how the verification ended.
 */
public final class BackfillRunner {

	private static final Log logger = LogFactory.getLog(BackfillRunner.class);

	private final BackfillEnvironment environment;

	private final MigrationDefinition migration;

	// replaced by an operator's live change (tune), from the heartbeat thread
	private volatile BackfillSettings settings;

	private volatile String tuning = "as declared";

	// the settings the run's batches follow, on the run's thread
	private BackfillSettings applied;

	private final String instanceId;

	private final boolean repair;

	private final BackfillListener listener;

	private final BackfillBatches batches;

	private final BackfillVacuum vacuum;

	private final BackfillStopSignal signal = new BackfillStopSignal();

	private final BackfillHoldBack holdBack;

	private final BackfillVerificationGate gate;

	private final BackfillImpact impact;

	private @Nullable ThrottleReason pacedFor;

	private BackfillFailureBudget failureBudget;

	private int earlierFailures;

	private @Nullable String earlierFailure;

	/**
	 * Create a runner.
	 * @param environment what every run works with
	 * @param migration the migration to backfill
	 * @param instanceId this instance
	 * @param repair whether the run may write the new columns; {@code false} once this
	 * instance reads them, as the new columns are then the source of truth and a
	 * verification only reports
	 */
	BackfillRunner(BackfillEnvironment environment, MigrationDefinition migration, String instanceId, boolean repair) {
		this.environment = environment;
		this.migration = migration;
		this.settings = migration.backfill();
		this.applied = this.settings;
		this.instanceId = instanceId;
		this.repair = repair;
		this.listener = environment.listener();
		this.batches = new BackfillBatches(migration, BackfillStatements.of(migration), instanceId, repair);
		this.vacuum = new BackfillVacuum(environment.dataSource(), migration, this.batches);
		this.holdBack = new BackfillHoldBack(migration, instanceId, environment, this.signal);
		this.gate = new BackfillVerificationGate(migration, instanceId, repair, environment, this.signal);
		this.impact = new BackfillImpact(migration, this.batches, environment.applicationLatency(), this.signal);
		this.failureBudget = new BackfillFailureBudget(this.settings);
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
	 * Have the run count its failed batches in a budget that outlives it, so that a batch
	 * whose failure ends each run counts across runs.
	 * @param failureBudget the budget
	 */
	void useFailureBudget(BackfillFailureBudget failureBudget) {
		this.failureBudget = failureBudget;
	}

	/**
	 * Go on at the pace an earlier run of the migration on this instance reached (its
	 * share of time and batch length), instead of starting again from the initial pace:
	 * an operator's pause and resume, or a run that ended on an error, does not undo what
	 * the pacing learnt.
	 * @param pacer the earlier run's pacer
	 */
	void continuePacing(BackfillPacer pacer) {
		pacer.tune(this.settings);
		this.holdBack.usePacer(pacer);
	}

	/**
	 * Return this run's pacer.
	 */
	BackfillPacer pacer() {
		return this.holdBack.pacer();
	}

	/**
	 * Run with other settings from the next batch on, as when an operator changed them
	 * live: a pause in progress ends, so that a shorter one applies at once.
	 * @param settings the declared settings with the operator's overrides merged over
	 * them
	 * @param description the overrides and who set them, for the progress log
	 */
	void tune(BackfillSettings settings, String description) {
		this.tuning = description;
		this.settings = settings;
		this.holdBack.pacer().tune(settings);
		this.signal.wake();
	}

	/**
	 * Ask the run to stop after its current batch.
	 */
	void requestStop() {
		this.signal.requestStop();
	}

	/**
	 * Say that a heartbeat found the fleet no longer allows the backfill, so that a
	 * verification in progress is not recorded as holding.
	 */
	void eligibilityLost() {
		this.signal.eligibilityLost();
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
		try (BackfillSession session = BackfillSession.open(this.environment.dataSource(),
				this.environment.states().tables(), this.migration)) {
			BackfillRepository repository = session.repository();
			repository.ensure(id);
			Outcome nothingToDo = nothingToDo(Objects.requireNonNull(repository.find(id)));
			if (nothingToDo != null) {
				return nothingToDo;
			}
			if (!session.tryLock()) {
				return Outcome.NOT_RUNNER;
			}
			return runHoldingLock(session);
		}
	}

	private @Nullable Outcome nothingToDo(StoredProgress stored) {
		if (stored.progress().paused()) {
			return Outcome.PAUSED;
		}
		boolean verified = this.environment.states().find(this.migration.id()).isVerified();
		return (verified && !stored.verifyRequested()) ? Outcome.NOTHING_TO_DO : null;
	}

	private Outcome runHoldingLock(BackfillSession session) throws SQLException {
		String id = this.migration.id();
		BackfillRepository repository = session.repository();
		// read again under the lock: the previous runner may have moved on since
		StoredProgress stored = Objects.requireNonNull(repository.find(id));
		Outcome nothingToDo = nothingToDo(stored);
		if (nothingToDo != null) {
			return nothingToDo;
		}
		BackfillProgress progress = stored.progress();
		boolean copied = progress.copiedAt() != null;
		if (!copied && !this.repair) {
			return Outcome.NOTHING_TO_DO;
		}
		repository.claim(id, this.instanceId, copied ? BackfillState.VERIFYING : BackfillState.RUNNING);
		Outcome queued = this.holdBack.awaitSlot(session, this.environment.maxConcurrentBackfills());
		if (queued != null) {
			return queued;
		}
		if (this.holdBack.wasQueued()) {
			repository.setState(id, copied ? BackfillState.VERIFYING : BackfillState.RUNNING, null);
		}
		if (this.earlierFailures > 0 && this.earlierFailure != null) {
			repository.recordError(id, this.earlierFailures, this.earlierFailure);
		}
		log("backfill " + (copied ? "verification" : "run") + " starts on " + this.instanceId
				+ ((progress.lastKey() != null && !copied) ? " from key " + progress.lastKey() : ""));
		if (!copied) {
			Outcome outcome = copy(session, progress);
			if (outcome != null) {
				return outcome;
			}
		}
		return verify(session, Objects.requireNonNull(repository.find(id)));
	}

	private @Nullable Outcome copy(BackfillSession session, BackfillProgress progress) throws SQLException {
		BackfillRepository repository = session.repository();
		String upperBound = progress.upperBound();
		Long estimated = progress.rowsEstimated();
		if (progress.startedAt() == null) {
			upperBound = this.batches.upperBound(repository, false);
			estimated = this.batches.estimateRows(repository, upperBound);
			repository.start(this.migration.id(), upperBound, estimated);
			log("backfilling about " + estimated + " rows up to key " + upperBound);
		}
		if (upperBound != null) {
			int batchSize = (progress.batchSize() != null) ? progress.batchSize() : this.settings.initialBatchSize();
			// probes at any moment of the copy, on a connection of their own, for the
			// workload's tail; the copy's last key is a row it leaves alone until its
			// last batch
			TailSampler sampler = this.holdBack.pacer().isPacing()
					? new TailSampler(this.environment.dataSource(), this.migration, this.batches) : null;
			if (sampler != null) {
				sampler.start(upperBound, repository.backendPid());
				this.impact.sampleTail(sampler);
			}
			Outcome outcome;
			try {
				outcome = walk(session, BackfillWalk.copy(upperBound, progress.lastKey(), progress.rowsDone(),
						progress.rowsUpdated(), estimated, batchSize));
			}
			finally {
				if (sampler != null) {
					this.impact.sampleTail(null);
					sampler.stop();
				}
			}
			if (outcome != null) {
				return outcome;
			}
		}
		repository.markCopied(this.migration.id());
		log("backfill copied every row up to key " + upperBound);
		return null;
	}

	/**
	 * Verify every row up to a bound fixed when each pass starts; later rows are written
	 * with both sides in sync. Resumes a pass in flight from its checkpoint unless a new
	 * verification was asked for.
	 */
	private Outcome verify(BackfillSession session, StoredProgress stored) throws SQLException {
		BackfillRepository repository = session.repository();
		VerificationProgress inFlight = stored.progress().verifying();
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
					this.settings.verificationBatchSize());
			log("verification pass " + walk.pass()
					+ ((walk.lastKey() != null)
							? " resumes from key " + walk.lastKey() + " after " + walk.rows() + " rows"
							: " starts from the beginning"));
		}
		while (true) {
			BackfillListener.Pass observed = this.listener.verificationPassStarting(this.migration, walk.pass());
			long changedBefore = walk.changed();
			Outcome interrupted;
			try {
				interrupted = walk(session, walk);
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
			log("verification pass " + walk.pass() + " checked " + walk.rows() + " rows up to key " + walk.upperBound()
					+ ", " + walk.disagreeing() + " disagreed"
					+ ((this.repair && walk.disagreeing() > 0) ? " and were repaired" : ""));
			if (walk.disagreeing() == 0 || !this.repair || walk.pass() >= this.settings.verificationPasses()) {
				return this.gate.record(repository, walk, startedAt);
			}
			walk = startPass(repository, walk.pass() + 1, walk.changed());
		}
	}

	private BackfillWalk startPass(BackfillRepository repository, int pass, long repairedBefore) {
		String upperBound = this.batches.upperBound(repository, true);
		Long rowsToCheck = this.batches.estimateRows(repository, upperBound);
		if (pass == 1) {
			repository.startVerifying(this.migration.id(), upperBound, rowsToCheck);
		}
		else {
			repository.nextPass(this.migration.id(), this.instanceId, upperBound, rowsToCheck);
		}
		log("verification pass " + pass + " checks about " + rowsToCheck + " rows up to key " + upperBound);
		return BackfillWalk.verification(pass, upperBound, null, 0, rowsToCheck, 0, repairedBefore,
				this.settings.verificationBatchSize());
	}

	/**
	 * The batch loop shared by the copy and the verification: walk the key up to the
	 * walk's upper bound, one batch per transaction with its checkpoint, until a batch
	 * finds no row.
	 * @return {@code null} when the walk is done, else how the run must end
	 */
	private @Nullable Outcome walk(BackfillSession session, BackfillWalk walk) throws SQLException {
		if (walk.upperBound() == null) {
			return null; // both sides were empty when the walk started
		}
		BackfillRepository repository = session.repository();
		int failures = 0;
		while (true) {
			BackfillSettings current = this.settings;
			if (current != this.applied) {
				tuned(walk, current);
			}
			Outcome interrupted = this.holdBack.beforeBatch(repository, walk.verifying());
			if (interrupted != null) {
				return interrupted;
			}
			long batchStart = System.nanoTime();
			Batch observed = this.listener.batchStarting(this.migration,
					walk.verifying() ? BatchKind.VERIFY : BatchKind.COPY, walk.batchSize());
			BackfillBatches.Batch batch;
			try {
				batch = session.inTransaction(() -> this.batches.run(repository, walk));
				failures = 0;
				this.failureBudget.succeeded();
			}
			catch (DataAccessException ex) {
				observed.failed(ex, BackfillErrors.isRetryable(ex));
				if (BackfillErrors.isSessionLost(ex)) {
					throw ex; // the run ends; the next one resumes from the checkpoint
				}
				String spent = this.failureBudget.failed(walk.lastKey());
				if (spent != null) {
					return stopFailed(repository, walk, spent, ex);
				}
				if (!BackfillErrors.isRetryable(ex)) {
					throw ex; // the run ends, and the next one tries the batch again
				}
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
			Duration took = Duration.ofNanos(System.nanoTime() - batchStart);
			walk.advance(batch.highKey(), batch.rows(), batch.changed(), batch.disagreeing());
			afterBatch(walk);
			if (batch.paused()) {
				return this.holdBack.paused(repository);
			}
			if (walk.verifying()) {
				this.signal.sleep(this.settings.verificationPause());
			}
			else {
				pace(repository, walk, batch.rows(), took);
			}
		}
	}

	/**
	 * Follow settings an operator changed: a copy's next batch is brought within the new
	 * bounds, or starts at the new initial size if that changed; the progress log says
	 * from where they apply.
	 */
	private void tuned(BackfillWalk walk, BackfillSettings current) {
		if (!walk.verifying()) {
			int size = (current.initialBatchSize() != this.applied.initialBatchSize()) ? current.initialBatchSize()
					: walk.batchSize();
			walk.batchSize(Math.max(current.minBatchSize(), Math.min(current.maxBatchSize(), size)));
		}
		if (!current.equals(this.applied)) {
			log("backfill settings " + this.tuning + "; they apply from the next "
					+ (walk.verifying() ? "verification" : "copy") + " batch"
					+ ((walk.lastKey() != null) ? " after key " + walk.lastKey() : "")
					+ (walk.verifying() ? "" : ", of " + walk.batchSize() + " rows"));
		}
		this.applied = current;
	}

	/**
	 * What follows each committed batch: the progress log, the next copy batch's size and
	 * the copy's {@code VACUUM}s.
	 */
	private void afterBatch(BackfillWalk walk) {
		String line = walk.progressLine();
		if (line != null) {
			log(line);
		}
		if (!walk.verifying()) {
			if (this.settings.vacuumEveryRows() > 0 && walk.changedSinceVacuum() >= this.settings.vacuumEveryRows()
					&& this.vacuum.start()) {
				walk.vacuumed();
			}
		}
	}

	/**
	 * Pace the copy after a batch: read what the workload feels, size the next batch and
	 * pause as the pacer says, tell the listener which signal holds the copy back and for
	 * how long, and learn the baseline again when it is due (its window, with no batch,
	 * stands in for the pause).
	 */
	private void pace(BackfillRepository repository, BackfillWalk walk, long rows, Duration took) {
		BackfillPacer pacer = this.holdBack.pacer();
		// the last key of the copy: a row the copy does not touch until its last batch,
		// whereas the first read of a row a batch just rewrote pays for pruning its page
		String key = Objects.requireNonNull(walk.upperBound());
		BackfillImpact.Reading reading = null;
		if (pacer.isPacing()) {
			if (this.impact.baselineDue()) {
				this.impact.learnBaseline(repository, key);
			}
			reading = this.impact.read(repository, key, pacer.budget());
		}
		BackfillPacer.Pace pace = pacer.nextPace(rows, walk.batchSize(), took, reading);
		this.listener.paced(this.migration, pace.batchSize(), pace.pause());
		walk.batchSize(pace.batchSize());
		walk.pacedBy(pace.pacedBy());
		ThrottleReason reason = pace.reason();
		if (reason != null && reason != this.pacedFor) {
			this.listener.holdsBack(this.migration, reason);
		}
		if (reason != null && logger.isDebugEnabled()) {
			logger.debug("zdm: migration '" + this.migration.id() + "': paced by " + pace.pacedBy());
		}
		this.pacedFor = reason;
		if (!pace.pause().isZero()) {
			this.signal.sleep(pace.pause());
			if (reason != null) {
				this.listener.heldBack(this.migration, reason, pace.pause());
			}
		}
	}

	/**
	 * Stop the backfill in the {@code failed} state, paused so that only an operator's
	 * resume starts it again.
	 */
	private Outcome stopFailed(BackfillRepository repository, BackfillWalk walk, String spent, DataAccessException ex) {
		String id = this.migration.id();
		String failure = "backfill stopped: " + spent + " at the " + (walk.verifying() ? "verification" : "copy")
				+ " batch of keys after " + ((walk.lastKey() != null) ? walk.lastKey() : "the first") + " up to "
				+ walk.upperBound() + " (at most " + walk.batchSize() + " keys); last error: "
				+ BackfillErrors.describe(ex) + ". Mend the cause, then resume with POST /actuator/zdm/" + id
				+ "/resume (or BackfillService#resume)";
		repository.stopFailed(id, failure);
		this.failureBudget.reset();
		logger.error("zdm: migration '" + id + "': " + failure);
		return Outcome.FAILED;
	}

	/**
	 * Handle a batch that failed on a lock or statement timeout or a deadlock, within the
	 * failure budget: record the error, back off and return the halved batch size to
	 * retry with.
	 */
	private int afterFailedBatch(BackfillRepository repository, DataAccessException ex, int batchSize, int failures) {
		int smaller = Math.max(this.settings.minBatchSize(), batchSize / 2);
		String failure = BackfillErrors.describe(ex);
		repository.recordError(this.migration.id(), 1, failure);
		logger.warn("zdm: migration '" + this.migration.id() + "': backfill batch gave up (" + failure
				+ "); retrying with " + smaller + " rows");
		this.signal.sleep(this.settings.throttleCheckInterval().multipliedBy(Math.min(failures, 10)));
		return smaller;
	}

	private void log(String message) {
		logger.info("zdm: migration '" + this.migration.id() + "': " + message);
	}

	/**
	 * How a run ended.
	 */
	enum Outcome {

		NOT_RUNNER, NOTHING_TO_DO, PAUSED, STOPPED, VERIFIED, VERIFICATION_FAILED, FAILED

	}

}
