package dev.zdm.internal.backfill;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.migration.MigrationDefinition;

/**
 * Samples each migration's stored {@link BackfillProgress} on every heartbeat, so that
 * metrics and health read the fleet-wide progress, whichever instance runs the backfill,
 * without querying the database themselves.
 */
public class BackfillProgressSampler implements MigrationParticipant {

	private static final Log logger = LogFactory.getLog(BackfillProgressSampler.class);

	private final BackfillService service;

	private final Map<String, BackfillProgress> latest = new ConcurrentHashMap<>();

	/**
	 * Create a sampler.
	 * @param service the service to read the progress with
	 */
	public BackfillProgressSampler(BackfillService service) {
		this.service = service;
	}

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		MigrationDefinition migration = status.migration();
		if (!migration.hasBackfill()) {
			return;
		}
		try {
			BackfillProgress progress = this.service.progress(migration.id());
			if (progress != null) {
				this.latest.put(migration.id(), progress);
			}
			else {
				// gone with the new side (an abandon): health and meters stop showing it
				this.latest.remove(migration.id());
			}
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: could not sample the backfill progress of migration '" + migration.id() + "'", ex);
		}
	}

	/**
	 * Return a migration's backfill progress as sampled at the last heartbeat.
	 * @param migrationId the migration
	 * @return the progress, or {@code null} before the backfill is scheduled or sampled,
	 * and once an abandon has removed it
	 */
	public @Nullable BackfillProgress progress(String migrationId) {
		return this.latest.get(migrationId);
	}

}
