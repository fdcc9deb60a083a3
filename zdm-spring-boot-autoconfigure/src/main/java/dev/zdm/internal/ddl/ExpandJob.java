package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.migration.MigrationDefinition;

/**
 * One migration's expand on this instance: its progress, and the control its statements
 * run under.
 */
final class ExpandJob extends RetryControl {

	private static final Log logger = LogFactory.getLog(ExpandRunner.class);

	private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

	private final MigrationDefinition migration;

	private final Duration alertAfter;

	private final Instant pendingSince = Instant.now();

	private volatile ExpandProgress.State state = ExpandProgress.State.RUNNING;

	private volatile @Nullable Instant finishedAt;

	private volatile @Nullable String statement;

	private volatile int lockTimeouts;

	private volatile @Nullable String lastBlockers;

	private volatile @Nullable String lastError;

	volatile @Nullable DdlSession session;

	volatile @Nullable Future<?> future;

	volatile @Nullable ScheduledFuture<?> pauseWatch;

	private @Nullable DdlPause fleetPause;

	/**
	 * Held while the fleet's pause is read or written and followed here: a read taken
	 * before this instance's endpoint paused or resumed is never followed after it.
	 */
	final Object pauseFollowing = new Object();

	ExpandJob(MigrationDefinition migration, boolean untilApplied, Duration alertAfter) {
		super(untilApplied);
		this.migration = migration;
		this.alertAfter = alertAfter;
	}

	MigrationDefinition migration() {
		return this.migration;
	}

	boolean isDone() {
		return this.state == ExpandProgress.State.DONE;
	}

	void done() {
		this.finishedAt = Instant.now();
		// a failed try's error no longer says anything about an expand that is done
		this.lastError = null;
		this.state = ExpandProgress.State.DONE;
	}

	void state(ExpandProgress.State state) {
		this.state = state;
	}

	ExpandProgress.State state() {
		return this.state;
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

	/**
	 * Stop the job's thread: cancel its statement in flight, again until the thread ends
	 * or a few seconds have passed.
	 * @param dataSource a data source to cancel the statement from
	 */
	void stop(DataSource dataSource) {
		requestStop();
		Future<?> future = this.future;
		if (future == null) {
			return;
		}
		long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
		while (!future.isDone() && System.nanoTime() < deadline) {
			// Cancelled again until it ends: a statement may start between a check and
			// the cancel.
			DdlSession session = this.session;
			if (session != null) {
				session.cancel(dataSource);
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

	ExpandProgress progress() {
		ExpandProgress.State current = this.state;
		boolean stalled = current != ExpandProgress.State.DONE
				&& Duration.between(this.pendingSince, Instant.now()).compareTo(this.alertAfter) > 0;
		DdlPause pause;
		synchronized (this) {
			pause = this.fleetPause;
		}
		return new ExpandProgress(this.migration.id(), current, this.pendingSince, this.finishedAt, this.statement,
				this.lockTimeouts, this.lastBlockers, this.lastError, stalled, pause);
	}

}
