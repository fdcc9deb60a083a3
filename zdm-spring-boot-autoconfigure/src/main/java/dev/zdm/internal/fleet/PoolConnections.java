package dev.zdm.internal.fleet;

import java.sql.SQLTransientConnectionException;
import java.util.List;

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
			+ "once, and 3 more for each further migration whose expand, contract or abandon runs at the same time "
			+ "(spring.datasource.hikari.maximum-pool-size): zdm creates its tables at start-up with 2, an expand, "
			+ "contract or abandon holds 3 while it runs (the session holding the migration's lock and Flyway's "
			+ "two; the expands of migrations declared together run at once, in the background) and a running "
			+ "backfill 1 (see docs/backfill.md, \"Connection pools and PgBouncer\").";

	private PoolConnections() {
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
