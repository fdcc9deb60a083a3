package dev.zdm.internal.fleet;

import org.jspecify.annotations.Nullable;

/**
 * The engines zdm runs on data sources other than its own, one each, found by the
 * migrations they run: what routes a migration's repository calls asks here first, and
 * uses zdm's own engine for a migration none of them runs.
 */
public interface MigrationEngines {

	/**
	 * Return the phase controller of the engine that runs a migration.
	 * @param migrationId the migration
	 * @return the controller, or {@code null} if the migration is on zdm's own data
	 * source
	 */
	@Nullable PhaseController controllerFor(String migrationId);

	/**
	 * Return the migration states of the engine that runs a migration.
	 * @param migrationId the migration
	 * @return the states, or {@code null} if the migration is on zdm's own data source
	 */
	@Nullable MigrationStateRepository statesFor(String migrationId);

}
