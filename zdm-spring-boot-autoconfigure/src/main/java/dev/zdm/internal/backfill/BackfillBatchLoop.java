package dev.zdm.internal.backfill;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Objects;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.backfill.BackfillListener.Batch;
import dev.zdm.internal.backfill.BackfillListener.BatchKind;
import dev.zdm.internal.backfill.BackfillRunner.Outcome;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;

/**
 * The one batch loop of a {@link BackfillRunner run}, shared by the copy and the
 * verification passes: one batch per transaction with its checkpoint, held back as the
 * {@link BackfillHoldBack pacing} says, following the settings an operator changes live,
 * pacing the copy after each batch and retrying a failed batch smaller within the
 * {@link BackfillFailureBudget failure budget}.
 */
final class BackfillBatchLoop {

	// the run's progress lines keep the logger they always had, which users filter by
	private static final Log logger = LogFactory.getLog(BackfillRunner.class);

	private final MigrationDefinition migration;

	// replaced by an operator's live change (tune), from the heartbeat thread
	private volatile BackfillSettings settings;

	private volatile String tuning = "as declared";

	// the settings the run's batches follow, on the run's thread
	private BackfillSettings applied;

	private final BackfillListener listener;

	private final BackfillBatches batches;

	private final BackfillVacuum vacuum;

	private final BackfillHoldBack holdBack;

	private final BackfillImpact impact;

	private final BackfillStopSignal signal;

	private @Nullable ThrottleReason pacedFor;

	private BackfillFailureBudget failureBudget;

	BackfillBatchLoop(MigrationDefinition migration, BackfillListener listener, BackfillBatches batches,
			BackfillVacuum vacuum, BackfillHoldBack holdBack, BackfillImpact impact, BackfillStopSignal signal) {
		this.migration = migration;
		this.settings = migration.backfill();
		this.applied = this.settings;
		this.listener = listener;
		this.batches = batches;
		this.vacuum = vacuum;
		this.holdBack = holdBack;
		this.impact = impact;
		this.signal = signal;
		this.failureBudget = new BackfillFailureBudget(this.settings);
	}

	/**
	 * Return the settings the next batch follows.
	 */
	BackfillSettings settings() {
		return this.settings;
	}

	/**
	 * Count failed batches in a budget that outlives the run.
	 * @param failureBudget the budget
	 */
	void useFailureBudget(BackfillFailureBudget failureBudget) {
		this.failureBudget = failureBudget;
	}

	/**
	 * Run with other settings from the next batch on: a pause in progress ends, so that a
	 * shorter one applies at once.
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
	 * Walk the key up to the walk's upper bound, one batch per transaction with its
	 * checkpoint, until a batch finds no row.
	 * @return {@code null} when the walk is done, else how the run must end
	 */
	@Nullable Outcome walk(BackfillSession session, BackfillWalk walk) throws SQLException {
		if (walk.upperBound() == null) {
			return null; // both sides were empty when the walk started
		}
		BackfillRepository repository = session.repository();
		if (!walk.verifying()) {
			// the first batch of a run (its initial size, or the size an earlier run
			// reached) is held to the ceiling as the paced ones are
			walk.batchSize(withinCeiling(this.settings, walk.batchSize()));
		}
		int failures = 0;
		long rowLockWaitSince = 0;
		while (true) {
			Outcome interrupted = this.holdBack.beforeBatch(repository, walk);
			if (interrupted != null) {
				return interrupted;
			}
			// after the hold-back, which may have lasted minutes: a change made meanwhile
			// applies to this batch, not the one after it
			BackfillSettings current = this.settings;
			if (current != this.applied) {
				tuned(walk, current);
			}
			walk.ceiling(current.maxRowsPerSecond());
			if (rowLockWaitSince != 0) {
				// a batch again after one that waited for a row lock: once the wait is
				// long
				// enough, the rate this batch records is read from now, not over the wait
				walk.heldBack(Duration.ofNanos(System.nanoTime() - rowLockWaitSince));
			}
			long batchStart = System.nanoTime();
			Batch observed = this.listener.batchStarting(this.migration,
					walk.verifying() ? BatchKind.VERIFY : BatchKind.COPY, walk.batchSize());
			BackfillBatches.Batch batch;
			this.impact.batch(true);
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
				if (BackfillErrors.isRowError(ex) && walk.batchSize() > 1) {
					// a row's value fails (one the new column cannot hold, a constraint
					// it breaks): halve the batch, at once and without counting it
					// against the budget, so that the rows before it are copied and the
					// batch that fails, and the failure that stops the backfill, is that
					// row alone
					walk.batchSize(Math.max(1, walk.batchSize() / 2));
					continue;
				}
				if (BackfillErrors.isValueError(ex)) {
					// a batch of one row that fails on its value fails the same way every
					// time until the row changes: stop at once, naming the row (an
					// outside run's rows that up could not convert cost 10 runs and their
					// backoffs, about 2.5 minutes, each)
					return stopOnValue(session, repository, walk, ex);
				}
				if (BackfillErrors.isLockTimeout(ex)) {
					// another transaction holds a row the batch must lock: wait
					// for it as for a hold-back, without spending the failure
					// budget (a session left idle in its transaction would stop
					// the backfill otherwise), and say whose it likely is
					String holders = this.holdBack.rowLockHolders();
					String failure = BackfillErrors.describe(ex) + holders
							+ "; the backfill waits for it, not counted as a failed batch";
					// and say so where the pace's reason is read, until the next batch
					// that goes through says what paces it then
					repository.waitsForRowLock(this.migration.id(),
							walk.verifying() ? BackfillState.VERIFYING : BackfillState.RUNNING,
							"row-lock: a batch waits for a row another session holds locked" + holders
									+ "; it is retried with fewer rows (end that session if it is idle in its "
									+ "transaction)");
					walk.batchSize(afterFailedBatch(repository, failure, walk.batchSize(), ++failures));
					if (rowLockWaitSince == 0) {
						rowLockWaitSince = batchStart;
					}
					continue;
				}
				String spent = this.failureBudget.failed(walk.lastKey());
				if (spent != null) {
					return stopFailed(repository, walk, spent, ex);
				}
				if (!BackfillErrors.isRetryable(ex)) {
					throw ex; // the run ends, and the next one tries the batch again
				}
				walk.batchSize(afterFailedBatch(repository, BackfillErrors.describe(ex), walk.batchSize(), ++failures));
				continue;
			}
			catch (SQLException | RuntimeException ex) {
				observed.failed(ex, false);
				throw ex;
			}
			finally {
				this.impact.batch(false);
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
			rowLockWaitSince = 0;
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
			walk.batchSize(
					withinCeiling(current, Math.max(current.minBatchSize(), Math.min(current.maxBatchSize(), size))));
		}
		if (!current.equals(this.applied)) {
			// the settings an operator changes pace the copy; a verification pass
			// follows verification-batch-size and verification-pause (an operator read
			// "they apply from the next verification batch" and saw it run at 100,000
			// rows/s under a ceiling of 1,000)
			log("backfill settings " + this.tuning + (walk.verifying()
					? "; they pace the copy, not this verification pass (its batches follow verification-batch-size "
							+ "and verification-pause): a copy that runs again applies them"
					: "; they apply from the next copy batch"
							+ ((walk.lastKey() != null) ? " after key " + walk.lastKey() : "") + ", of "
							+ walk.batchSize() + " rows"));
		}
		this.applied = current;
	}

	/**
	 * Bring a copy batch that the pacing did not size (the first of a run, the first
	 * after a live change) within a rows per second ceiling: at most a second's worth of
	 * rows, below {@code min-batch-size} too, as the pacing sizes the others. A larger
	 * batch would copy many seconds of the ceiling at once.
	 */
	private static int withinCeiling(BackfillSettings settings, int batchSize) {
		long ceiling = settings.maxRowsPerSecond();
		if (ceiling <= 0) {
			return batchSize;
		}
		return (int) Math.max(1, Math.min(batchSize, ceiling));
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
			if (pace.heldBy() != null) {
				this.listener.heldBack(this.migration, pace.heldBy(), pace.pause());
			}
		}
	}

	/**
	 * Stop the backfill in the {@code failed} state, paused so that only an operator's
	 * resume starts it again.
	 */
	private Outcome stopFailed(BackfillRepository repository, BackfillWalk walk, String spent, DataAccessException ex) {
		String id = this.migration.id();
		String failure = BackfillErrors.stopped(id,
				spent + " at the " + (walk.verifying() ? "verification" : "copy") + " batch of keys after "
						+ ((walk.lastKey() != null) ? walk.lastKey() : "the first") + " up to " + walk.upperBound()
						+ " (at most " + walk.batchSize() + " keys)",
				ex);
		return stop(repository, failure);
	}

	// the backfill stops in the failed state, paused until an operator resumes it
	private Outcome stop(BackfillRepository repository, String failure) {
		String id = this.migration.id();
		repository.stopFailed(id, failure);
		this.failureBudget.reset();
		logger.error("zdm: migration '" + id + "': " + failure);
		return Outcome.FAILED;
	}

	private Outcome stopOnValue(BackfillSession session, BackfillRepository repository, BackfillWalk walk,
			DataAccessException ex) throws SQLException {
		String id = this.migration.id();
		String key = session.inTransaction(() -> this.batches.nextKey(repository, walk));
		String failure = BackfillErrors.stopped(id, "the " + (walk.verifying() ? "verification" : "copy")
				+ " of the row with key " + key + " failed on its value, which fails the same way every time until "
				+ "the row changes, so it was not retried (max-batch-attempts applies to failures that may pass): "
				+ "mend the row's old side, or make up take such values (a CASE giving NULL or a default for them; "
				+ "docs/backfill.md, \"Rows up cannot convert\", finds them all at once)", ex);
		return stop(repository, failure);
	}

	/**
	 * Handle a batch that failed on a lock or statement timeout or a deadlock, within the
	 * failure budget: record the error, back off and return the halved batch size to
	 * retry with.
	 */
	private int afterFailedBatch(BackfillRepository repository, String failure, int batchSize, int failures) {
		int smaller = Math.max(this.settings.minBatchSize(), batchSize / 2);
		repository.recordError(this.migration.id(), 1, failure);
		logger.warn("zdm: migration '" + this.migration.id() + "': backfill batch gave up (" + failure
				+ "); retrying with " + smaller + " rows");
		this.signal.sleep(this.settings.throttleCheckInterval().multipliedBy(Math.min(failures, 10)));
		return smaller;
	}

	private void log(String message) {
		logger.info("zdm: migration '" + this.migration.id() + "': " + message);
	}

}
