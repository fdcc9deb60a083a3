package dev.zdm.backfill;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillRepository.StoredProgress;

/**
 * Pauses, resumes and re-verifies backfills, and reads their progress, from any instance
 * of the fleet: all of it goes through the stored progress, which the runner, wherever it
 * runs, reads between batches.
 */
public class BackfillService {

	private final BackfillRepository repository;

	/**
	 * Create a service.
	 * @param dataSource the application's data source
	 */
	public BackfillService(DataSource dataSource) {
		this.repository = new BackfillRepository(dataSource);
	}

	/**
	 * Pause a migration's backfill fleet-wide; the runner stops after its current batch.
	 * @param migrationId the migration
	 */
	public void pause(String migrationId) {
		this.repository.pause(migrationId);
	}

	/**
	 * Resume a paused backfill; a runner picks it up from its checkpoint at the next
	 * heartbeat.
	 * @param migrationId the migration
	 * @return {@code true} if the backfill was known
	 */
	public boolean resume(String migrationId) {
		return this.repository.resume(migrationId);
	}

	/**
	 * Ask for the backfill to be verified again, and repaired where rows disagree, even
	 * if it is verified.
	 * @param migrationId the migration
	 */
	public void verify(String migrationId) {
		this.repository.requestVerification(migrationId);
	}

	/**
	 * Return a migration's backfill progress as stored, with its latest verification.
	 * @param migrationId the migration
	 * @return the progress, or {@code null} if the backfill has not been scheduled yet
	 */
	public @Nullable BackfillProgress progress(String migrationId) {
		StoredProgress stored = this.repository.find(migrationId);
		if (stored == null) {
			return null;
		}
		return stored.progress().withVerification(this.repository.latestVerification(migrationId));
	}

}
