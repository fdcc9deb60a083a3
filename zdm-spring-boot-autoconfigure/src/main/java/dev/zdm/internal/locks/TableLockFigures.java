package dev.zdm.internal.locks;

import java.time.Duration;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Lock figures for one table at one moment.
 *
 * @param waitingSessions how many sessions wait for a lock on the table, on one of its
 * rows, or for any other lock while they hold one on the table (see
 * {@link LockInspector#tableLockFigures})
 * @param tableLockWaiters how many of them wait for a lock on the table itself (or one of
 * its partitions), as a session does behind a DDL statement: the backfill's
 * {@code max-lock-waiters} counts these, not sessions queued on rows among themselves,
 * which a table with hot rows has all the time and the copy does not cause between its
 * batches
 * @param longestWait the longest of those waits, or {@link Duration#ZERO}
 * @param blockers the sessions holding the locks they wait for
 * @param oldestTransactionAge the age of the oldest open transaction in the database, or
 * {@code null}
 * @param oldestTransactionPid the backend of that transaction, or {@code null}
 * @param oldestTransaction that transaction with its session (application, user, state,
 * query), or {@code null}
 */
public record TableLockFigures(int waitingSessions, int tableLockWaiters, Duration longestWait,
		List<BlockingSession> blockers, @Nullable Duration oldestTransactionAge, @Nullable Integer oldestTransactionPid,
		LockInspector.@Nullable OldestTransaction oldestTransaction) {

	/**
	 * Create figures that know the oldest transaction by its backend and age alone.
	 * @param waitingSessions how many sessions wait
	 * @param tableLockWaiters how many of them wait for a lock on the table itself
	 * @param longestWait the longest of those waits
	 * @param blockers the sessions holding the locks they wait for
	 * @param oldestTransactionAge the age of the oldest open transaction, or {@code null}
	 * @param oldestTransactionPid its backend, or {@code null}
	 */
	public TableLockFigures(int waitingSessions, int tableLockWaiters, Duration longestWait,
			List<BlockingSession> blockers, @Nullable Duration oldestTransactionAge,
			@Nullable Integer oldestTransactionPid) {
		this(waitingSessions, tableLockWaiters, longestWait, blockers, oldestTransactionAge, oldestTransactionPid,
				null);
	}

}
