package dev.zdm.backfill;

import org.jspecify.annotations.Nullable;

/**
 * Pauses, resumes and re-verifies backfills, and reads their progress, from any instance
 * of the fleet: all of it goes through the stored progress, which the runner, wherever it
 * runs, reads between batches.
 */
public interface BackfillService {

	/**
	 * Pause a migration's backfill fleet-wide; the runner stops after its current batch.
	 * @param migrationId the migration
	 */
	void pause(String migrationId);

	/**
	 * Resume a paused backfill; a runner picks it up from its checkpoint at the next
	 * heartbeat.
	 * @param migrationId the migration
	 * @return {@code true} if the backfill was known
	 */
	boolean resume(String migrationId);

	/**
	 * Ask for the backfill to be verified again, and repaired where rows disagree, even
	 * if it is verified.
	 * @param migrationId the migration
	 */
	void verify(String migrationId);

	/**
	 * Return a migration's backfill progress as stored, with its latest verification.
	 * @param migrationId the migration
	 * @return the progress, or {@code null} if the backfill has not been scheduled yet
	 */
	@Nullable BackfillProgress progress(String migrationId);

}
