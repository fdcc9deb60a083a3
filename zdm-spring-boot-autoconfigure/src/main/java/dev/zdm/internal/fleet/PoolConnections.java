package dev.zdm.internal.fleet;

import java.sql.SQLTransientConnectionException;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.core.NestedExceptionUtils;

import dev.zdm.migration.ZdmConfigurationException;

/**
 * What zdm's own work takes of the application's connection pool, and how to tell that a
 * step failed because the pool had no connection left for it: the one place that says so,
 * for every refusal that names it.
 */
public final class PoolConnections {

	/**
	 * What to do when zdm's work found the pool empty.
	 */
	public static final String ADVICE = "Give the pool at least 3 connections more than the application uses at "
			+ "once, and 3 more for each further migration whose contract or abandon runs at the same time "
			+ "(spring.datasource.hikari.maximum-pool-size): zdm creates its tables at start-up with 2, an expand, "
			+ "contract or abandon holds 3 while it runs (the session holding the migration's lock and Flyway's "
			+ "two; the background expands of several migrations take turns on a pool too small for all of them, "
			+ "as long as it has at least 3) and a running backfill 2 (the backfills of several migrations take "
			+ "turns on such a pool too) (see docs/backfill.md, \"Connection pools " + "and PgBouncer\").";

	/**
	 * Connections an expand, contract or abandon holds while it runs.
	 */
	static final int PER_DDL_STEP = 3;

	/**
	 * Connections a backfill run holds at once, at most, while it runs.
	 */
	static final int PER_BACKFILL_RUN = 2;

	private PoolConnections() {
	}

	/**
	 * Return how many migrations' background expands may run at once on a pool: as many
	 * as leave one connection for the application and zdm's heartbeat, at least one if
	 * the pool can hold one. On a pool of 10 (Hikari's default) 3 run at once; on a pool
	 * of 3 to 6 one at a time, the others waiting for it, where all at once would each
	 * hold part of the pool and wait for the rest, fail and be retried, and take the
	 * application's connections meanwhile.
	 * @param poolSize the most connections the pool opens, or {@code null} if unknown
	 * @return the expands that may run at once: 0 for a pool that cannot hold one,
	 * {@link Integer#MAX_VALUE} for a pool of unknown size
	 */
	public static int concurrentDdl(@Nullable Integer poolSize) {
		return concurrent(poolSize, PER_DDL_STEP);
	}

	/**
	 * Return how many backfill runs may go on at once on an instance with a pool: a run
	 * holds the runner's session for as long as it runs and borrows a second connection
	 * from time to time (its progress, its probes), so as many as leave one connection
	 * for the application and zdm's heartbeat. Two runs at once on a pool of 2 each held
	 * one connection and waited 30 s for a second, the application's requests with them.
	 * @param poolSize the most connections the pool opens, or {@code null} if unknown
	 * @return the runs that may go on at once: 0 for a pool under 3,
	 * {@link Integer#MAX_VALUE} for a pool of unknown size
	 */
	public static int concurrentBackfills(@Nullable Integer poolSize) {
		return concurrent(poolSize, PER_BACKFILL_RUN);
	}

	// as many as leave one connection over, each holding its share; none on a pool under
	// 3, whatever the share: the application and zdm's heartbeat need one besides
	private static int concurrent(@Nullable Integer poolSize, int each) {
		if (poolSize == null || poolSize <= 0) {
			return Integer.MAX_VALUE;
		}
		if (poolSize < PER_DDL_STEP) {
			return 0;
		}
		return Math.max(1, (poolSize - 1) / each);
	}

	/**
	 * Return the refusal of a migration whose backfill could never run beside the
	 * application on its pool.
	 * @param migrationId the migration
	 * @param poolSize the most connections the pool opens
	 * @return the refusal, with what to do
	 */
	public static ZdmConfigurationException tooSmallForBackfill(String migrationId, int poolSize) {
		return new ZdmConfigurationException(migrationId, "its backfill holds " + PER_BACKFILL_RUN
				+ " of the application pool's connections at once while it runs (the runner's session, and one for "
				+ "its progress and probes), and the pool opens at most " + poolSize + ": it would take every "
				+ "connection from the application's requests while it runs", ADVICE);
	}

	/**
	 * Return the refusal of a migration whose DDL step needs more connections at once
	 * than the application's pool opens: it could never run.
	 * @param migrationId the migration
	 * @param step the step, in words ("expand")
	 * @param poolSize the most connections the pool opens
	 * @return the refusal, with what to do
	 */
	public static ZdmConfigurationException tooSmallFor(String migrationId, String step, int poolSize) {
		return new ZdmConfigurationException(migrationId, "its " + step + " DDL holds " + PER_DDL_STEP
				+ " of the application pool's connections at once (the session holding the migration's lock and "
				+ "Flyway's two), and the pool opens at most " + poolSize + ": it could never run, and the instance "
				+ "would serve at expand while it tried", ADVICE);
	}

	/**
	 * Tell whether a failure is the pool's having no connection to give in time, every
	 * one in use. Hikari reports a database it cannot reach with the same
	 * {@link SQLTransientConnectionException} ("Connection is not available, request
	 * timed out"), but with the last failure to connect as its cause; that is not the
	 * pool's running out, and giving the pool more connections would not help.
	 * @param ex the failure
	 * @return {@code true} if a cause is a connection request that timed out with the
	 * database reachable
	 */
	public static boolean ranOut(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLTransientConnectionException timedOut) {
				return timedOut.getCause() == null && timedOut.getNextException() == null;
			}
		}
		return false;
	}

	/**
	 * Return the failure of a start-up step the pool had no connection left for.
	 * @param step the step, in words ("join the fleet with migration 'x'")
	 * @param held zdm's work in progress then that may hold the pool's connections
	 * @param ex the failure
	 * @return the failure, with what to do
	 */
	static ZdmConfigurationException startUpFailed(String step, List<String> held, RuntimeException ex) {
		StringBuilder description = new StringBuilder("zdm's start-up could not get a connection from the "
				+ "application's pool within the pool's connection timeout to " + step + ": "
				+ NestedExceptionUtils.getMostSpecificCause(ex).getMessage());
		if (!held.isEmpty()) {
			description.append(". zdm's work in progress then: ").append(String.join("; ", held));
		}
		return new ZdmConfigurationException(null, description.toString(), ADVICE, ex);
	}

}
