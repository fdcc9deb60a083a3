package dev.zdm.internal.backfill;

import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.VerificationProgress;
import dev.zdm.internal.backfill.BackfillRepository.StoredProgress;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;

/**
 * One run of one migration's backfill on this instance: the copy, then the verification
 * passes, each a {@link BackfillWalk walk} over the key through one
 * {@link BackfillBatchLoop batch loop}. The run holds a {@link BackfillSession session}
 * of its own, whose advisory lock makes it the fleet's runner; it holds back as its
 * {@link BackfillHoldBack pacing} says, and the {@link BackfillVerificationGate gate}
 * records how the verification ended.
 */
public final class BackfillRunner {

	private static final Log logger = LogFactory.getLog(BackfillRunner.class);

	private final BackfillEnvironment environment;

	private final MigrationDefinition migration;

	private final String instanceId;

	private final boolean repair;

	private final BackfillListener listener;

	private final BackfillBatches batches;

	private final BackfillStopSignal signal = new BackfillStopSignal();

	private final BackfillHoldBack holdBack;

	private final BackfillVerificationGate gate;

	private final BackfillImpact impact;

	// probes the workload's tail while the copy runs; what it learnt outlives the run
	private TailSampler sampler;

	private final BackfillBatchLoop loop;

	private int earlierFailures;

	private Supplier<List<String>> sameTable = List::of;

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
		this.instanceId = instanceId;
		this.repair = repair;
		this.listener = environment.listener();
		this.batches = new BackfillBatches(migration, BackfillStatements.of(migration), instanceId, repair);
		this.holdBack = new BackfillHoldBack(migration, instanceId, environment, this.signal);
		this.gate = new BackfillVerificationGate(migration, instanceId, repair, environment, this.signal);
		this.impact = new BackfillImpact(migration, this.batches, environment.applicationLatency(), this.signal);
		this.sampler = new TailSampler(environment.dataSource(), migration, this.batches);
		this.loop = new BackfillBatchLoop(migration, this.listener, this.batches,
				new BackfillVacuum(environment.dataSource(), migration, this.batches), this.holdBack, this.impact,
				this.signal);
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
	 * Have the run take its turn on the table in the fleet's queue with the other
	 * migrations on the table this instance knows of.
	 * @param sameTable those migrations, read at each look at the queue
	 */
	void queueOnTable(Supplier<List<String>> sameTable) {
		this.sameTable = sameTable;
	}

	/**
	 * Have the run count its failed batches in a budget that outlives it, so that a batch
	 * whose failure ends each run counts across runs.
	 * @param failureBudget the budget
	 */
	void useFailureBudget(BackfillFailureBudget failureBudget) {
		this.loop.useFailureBudget(failureBudget);
	}

	/**
	 * Go on at the pace an earlier run of the migration on this instance reached (its
	 * share of time and batch length), instead of starting again from the initial pace:
	 * an operator's pause and resume, or a run that ended on an error, does not undo what
	 * the pacing learnt.
	 * @param pacer the earlier run's pacer
	 * @param sampler the earlier run's tail sampler
	 */
	void continuePacing(BackfillPacer pacer, TailSampler sampler) {
		pacer.tune(this.loop.settings());
		this.holdBack.usePacer(pacer);
		this.sampler = sampler;
	}

	/**
	 * Return this run's pacer.
	 */
	BackfillPacer pacer() {
		return this.holdBack.pacer();
	}

	/**
	 * Return this run's tail sampler, whose probes taken while the copy paused and whose
	 * slow tail in the making the next run goes on with: after an operator's pause and
	 * resume, the slow tail is read without starting again from nothing.
	 */
	TailSampler sampler() {
		return this.sampler;
	}

	/**
	 * Run with other settings from the next batch on, as when an operator changed them
	 * live: a pause in progress ends, so that a shorter one applies at once.
	 * @param settings the declared settings with the operator's overrides merged over
	 * them
	 * @param description the overrides and who set them, for the progress log
	 */
	void tune(BackfillSettings settings, String description) {
		this.loop.tune(settings, description);
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
				List<String> live = this.environment.fleet()
					.members(id, this.environment.fleetTimeout())
					.stream()
					.filter(FleetMember::live)
					.map(FleetMember::instanceId)
					.toList();
				String stalled = session.takeOverFromStalledRunner(this.environment.fleetTimeout(), live);
				if (stalled == null) {
					return Outcome.NOT_RUNNER;
				}
				logger.warn("zdm: migration '" + id + "': the backfill's runner " + stalled + " is not live in the "
						+ "fleet and wrote no progress for zdm.fleet.timeout (" + this.environment.fleetTimeout()
						+ "), while its session still held the runner's lock (a process paused or cut off from the "
						+ "fleet): its session was ended, its batch in flight rolled back, and instance "
						+ this.instanceId + " runs the backfill from its checkpoint");
			}
			return runHoldingLock(session);
		}
	}

	private @Nullable Outcome nothingToDo(StoredProgress stored) {
		if (stored.progress().paused()) {
			return Outcome.PAUSED;
		}
		boolean verified = this.environment.states().find(this.migration.id()).isVerified();
		// a verification asked for once verified clears its request when its first
		// pass starts: one that a paused or lost runner left half done is still owed
		VerificationProgress inFlight = stored.progress().verifying();
		boolean owed = stored.verifyRequested() || (inFlight != null && inFlight.upperBound() != null);
		return (verified && !owed) ? Outcome.NOTHING_TO_DO : null;
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
		Outcome queued = this.holdBack.awaitSlot(session, this.environment.maxConcurrentBackfills(), this.sameTable,
				this.environment.fleetTimeout());
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

	/**
	 * Say which of the table's own row triggers fire for each row the copy writes: the
	 * copy's {@code UPDATE} (or, into another table, its {@code INSERT}) is a write like
	 * any other to them, so a trigger that stamps {@code updated_at} or audits changes
	 * does so for every row copied, unless it leaves zdm's writes alone. Said each time
	 * the copy starts or resumes on an instance, not only on the one that began it.
	 */
	private void warnOfOwnTriggers(BackfillRepository repository) {
		TableName written = (this.migration.targetTable() != null) ? this.migration.targetTable()
				: this.migration.table();
		List<BackfillRepository.OwnTrigger> triggers = repository.ownRowTriggers(written.quoted(),
				this.migration.targetTable() == null);
		List<String> marked = triggers.stream()
			.filter(BackfillRepository.OwnTrigger::readsMark)
			.map(BackfillRepository.OwnTrigger::name)
			.toList();
		List<String> unmarked = triggers.stream()
			.filter((trigger) -> !trigger.readsMark())
			.map(BackfillRepository.OwnTrigger::name)
			.toList();
		if (!unmarked.isEmpty()) {
			logger.warn("zdm: migration '" + this.migration.id() + "': table " + written.quoted()
					+ " has row triggers of its own that fire for every row the backfill writes: "
					+ String.join(", ", unmarked)
					+ ". If one should not (it stamps a time, counts changes or audits them), have it return early "
					+ "when current_setting('zdm.backfill', true) = 'on', which zdm sets in the transactions of its "
					+ "copy and repairs (docs/backfill.md, \"The table's own triggers\")");
		}
		if (!marked.isEmpty()) {
			logger.info("zdm: migration '" + this.migration.id() + "': table " + written.quoted()
					+ " has row triggers of its own that read zdm.backfill, the mark of the backfill's writes, "
					+ "and so can leave them alone: " + String.join(", ", marked));
		}
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
		// at every start of the copy on this instance, a resume and a takeover included:
		// the logs of the instance that started it may be gone with it
		warnOfOwnTriggers(repository);
		if (upperBound != null) {
			int batchSize = (progress.batchSize() != null) ? progress.batchSize()
					: this.loop.settings().initialBatchSize();
			// probes at any moment of the copy, on a connection of their own, for the
			// workload's tail; the copy's last key is a row it leaves alone until its
			// last batch
			TailSampler sampler = this.holdBack.pacer().isPacing() ? this.sampler : null;
			if (sampler != null) {
				sampler.start(upperBound, repository.backendPid());
				this.impact.sampleTail(sampler);
			}
			Outcome outcome;
			try {
				outcome = this.loop.walk(session, BackfillWalk.copy(upperBound, progress.lastKey(), progress.rowsDone(),
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
					this.loop.settings().verificationBatchSize());
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
				interrupted = this.loop.walk(session, walk);
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
			String checked = "verification pass " + walk.pass() + " checked " + walk.rows() + " rows up to key "
					+ walk.upperBound() + ", " + walk.disagreeing() + " disagreed";
			if (walk.disagreeing() == 0) {
				log(checked);
			}
			else {
				// rows the application's writes keep in sync disagree only when
				// someone wrote one side alone
				logger.warn("zdm: migration '" + this.migration.id() + "': " + checked
						+ (this.repair ? " and were repaired" : "") + ": they were written on one side only after the "
						+ "copy passed them (or, on a partitioned table, came in with a partition attached while the "
						+ "copy ran), " + oneSidedWriters());
			}
			if (walk.disagreeing() == 0 || !this.repair || walk.pass() >= this.loop.settings().verificationPasses()) {
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
				this.loop.settings().verificationBatchSize());
	}

	private String oneSidedWriters() {
		if (this.migration.sync() == SyncMode.TRIGGER) {
			return "by a session that bypassed the sync trigger (session_replication_role = replica, or the trigger "
					+ "disabled)";
		}
		return "by a writer outside the application (psql, a job, another service: look in pg_stat_activity), by an "
				+ "instance at expand, or by the application's own implementation of the new side (Schema."
				+ ((this.migration.sync() == SyncMode.APPLICATION) ? "BOTH" : "NEW")
				+ ") not writing what up gives for a write. Nothing syncs such a writer's rows (sync: "
				+ this.migration.sync().value()
				+ "): stop it, or mend the implementation. The verification runs again by itself when the first instance asks for read-new; "
				+ "what it writes after that is found by the final check before the contract";
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
