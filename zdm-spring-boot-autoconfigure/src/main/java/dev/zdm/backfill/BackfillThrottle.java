package dev.zdm.backfill;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.MigrationDefinition;

/**
 * A load check the backfill consults before each batch, for example for replication lag.
 * Declare one as a bean to have every backfill hold back while it says so.
 */
@FunctionalInterface
public interface BackfillThrottle {

	/**
	 * Say whether the backfill should hold back now, and why.
	 * @param migration the migration whose backfill is about to run a batch
	 * @return why to hold back, or {@code null} to go ahead
	 */
	@Nullable String holdBackReason(MigrationDefinition migration);

}
