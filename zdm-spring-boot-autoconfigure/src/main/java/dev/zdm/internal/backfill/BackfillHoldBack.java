package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.backfill.BackfillPacer.HoldBack;
import dev.zdm.internal.backfill.BackfillRunner.Outcome;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.TableName;

/**
 * Holds a run back before each batch while its {@link BackfillPacer pacer} says so:
 * records the state and its reason, tells the listener, logs when the run holds back and
 * goes on, and sees a stop or an operator's pause asked for meanwhile.
 */
public final class BackfillHoldBack {

	/**
	 * How the reason of a backfill waiting for a slot starts.
	 */
	public static final String QUEUED = "queued behind";

	/**
	 * How the reason of a backfill waiting for its table's slot names that limit.
	 */
	static final String ONE_PER_TABLE = "one backfill at a time on table ";

	private static final Log logger = LogFactory.getLog(BackfillHoldBack.class);

	private final MigrationDefinition migration;

	private final String instanceId;

	private BackfillPacer pacer;

	private final BackfillListener listener;

	private final BackfillStopSignal signal;

	private final LockInspector lockInspector;

	private boolean queued;

	BackfillHoldBack(MigrationDefinition migration, String instanceId, BackfillEnvironment environment,
			BackfillStopSignal signal) {
		this.migration = migration;
		this.instanceId = instanceId;
		this.pacer = new BackfillPacer(migration, migration.backfill(), environment.lockInspector(),
				environment.replicationLagInspector(), environment.walInspector(), environment.throttles());
		this.listener = environment.listener();
		this.signal = signal;
		this.lockInspector = environment.lockInspector();
	}

	/**
	 * Describe the sessions that likely held a row a batch timed out waiting for: those
	 * whose transaction, open for more than a second, holds rows of the migration's
	 * tables locked.
	 * @return for example
	 * {@code ; likely held by pid 4242 (idle in transaction ...): ...}, or an empty
	 * string when none is seen any more
	 */
	String rowLockHolders() {
		return rowLockHolders(this.lockInspector, this.migration);
	}

	/**
	 * Describe the sessions that likely hold a row of a migration's tables a statement
	 * waits for: those whose transaction, open for more than a second, holds rows of the
	 * tables locked.
	 * @param lockInspector reads the locks
	 * @param migration the migration
	 * @return as {@link #rowLockHolders()}
	 */
	static String rowLockHolders(LockInspector lockInspector, MigrationDefinition migration) {
		List<BlockingSession> holders = new ArrayList<>();
		try {
			holders.addAll(lockInspector.rowLockHolders(migration.table(), Duration.ofSeconds(1)));
			TableName target = migration.targetTable();
			if (target != null) {
				holders.addAll(lockInspector.rowLockHolders(target, Duration.ofSeconds(1)));
			}
		}
		catch (DataAccessException ex) {
			logger.debug("zdm: could not read who holds rows of " + migration.table() + " locked", ex);
		}
		return holders.isEmpty() ? ""
				: "; likely held by " + holders.stream().map(BlockingSession::describe).distinct().toList();
	}

	BackfillPacer pacer() {
		return this.pacer;
	}

	/**
	 * Go on with the pace an earlier run of the migration reached.
	 * @param pacer that run's pacer
	 */
	void usePacer(BackfillPacer pacer) {
		this.pacer = pacer;
	}

	/**
	 * Stop, pause or hold back before a batch as asked.
	 * @param repository the run's repository
	 * @param walk the walk the batch is of, told how long it was held back
	 * @return the outcome if the run must end, {@code null} to run the batch
	 */
	@Nullable Outcome beforeBatch(BackfillRepository repository, BackfillWalk walk) {
		String id = this.migration.id();
		boolean verifying = walk.verifying();
		boolean throttled = false;
		long holdStart = 0;
		@Nullable ThrottleReason heldBackFor = null;
		long heldBackSince = 0;
		while (true) {
			if (this.signal.isStopRequested()) {
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
					walk.heldBack(Duration.ofNanos(now - holdStart));
				}
				return null;
			}
			String reason = holdBack.description();
			if (!throttled) {
				logger.info("zdm: migration '" + id + "': backfill holds back: " + reason);
				throttled = true;
				holdStart = now;
			}
			if (holdBack.reason() != heldBackFor) {
				this.listener.holdsBack(this.migration, holdBack.reason());
			}
			heldBackFor = holdBack.reason();
			heldBackSince = now;
			if (repository.setState(id, BackfillState.THROTTLED, reason)) {
				return paused(repository);
			}
			this.signal.sleep(this.migration.backfill().throttleCheckInterval());
		}
	}

	/**
	 * Wait, in the fleet's queue, for a backfill slot on the table and the database,
	 * recording who holds them as the reason; see a stop or an operator's pause
	 * meanwhile.
	 * @param session the run's session
	 * @param maxPerDatabase how many backfills may run at once on the database
	 * @param sameTable the other migrations on the table this instance knows of, read at
	 * each try
	 * @param fleetTimeout the fleet timeout
	 * @return the outcome if the run must end, {@code null} once the slot is taken
	 */
	@Nullable Outcome awaitSlot(BackfillSession session, int maxPerDatabase, Supplier<List<String>> sameTable,
			Duration fleetTimeout) {
		BackfillRepository repository = session.repository();
		String id = this.migration.id();
		long since = 0;
		while (true) {
			if (this.signal.isStopRequested()) {
				repository.setState(id, BackfillState.PENDING, "runner " + this.instanceId + " stopped");
				return Outcome.STOPPED;
			}
			long now = System.nanoTime();
			if (this.queued) {
				this.listener.heldBack(this.migration, ThrottleReason.CONCURRENCY, Duration.ofNanos(now - since));
			}
			if (session.tryTakeSlot(maxPerDatabase, sameTable.get(), fleetTimeout)) {
				if (this.queued) {
					logger.info("zdm: migration '" + id + "': backfill leaves the queue and goes on");
				}
				return null;
			}
			String reason = QUEUED + " the backfills of " + session.slotHolders() + " (" + (session.waitsForTable()
					? ONE_PER_TABLE + this.migration.table()
							+ ", which no setting changes: migrations of one table copy one after the other)"
					: "at most " + maxPerDatabase + " at once on the database: zdm.fleet.max-concurrent-backfills)");
			if (!this.queued) {
				logger.info("zdm: migration '" + id + "': backfill " + reason);
				this.listener.holdsBack(this.migration, ThrottleReason.CONCURRENCY);
				this.queued = true;
			}
			since = now;
			if (repository.setState(id, BackfillState.THROTTLED, reason)) {
				return paused(repository);
			}
			this.signal.sleep(this.migration.backfill().throttleCheckInterval());
		}
	}

	/**
	 * Whether the run waited in the queue for its slot.
	 */
	boolean wasQueued() {
		return this.queued;
	}

	/**
	 * End the run for an operator's pause, found in the stored progress.
	 * @param repository the run's repository
	 * @return {@link Outcome#PAUSED}
	 */
	Outcome paused(BackfillRepository repository) {
		repository.setState(this.migration.id(), BackfillState.PAUSED, null);
		this.listener.holdsBack(this.migration, ThrottleReason.OPERATOR);
		return Outcome.PAUSED;
	}

}
