package dev.zdm.internal.locks;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStatus;

/**
 * Samples each migration's {@link TableLockFigures lock figures} on every heartbeat, so
 * that metrics and the endpoint read them without querying the database themselves.
 */
public class LockFiguresSampler implements MigrationParticipant {

	private final LockInspector inspector;

	private final Map<String, TableLockFigures> latest = new ConcurrentHashMap<>();

	/**
	 * Create a sampler.
	 * @param inspector the inspector to sample with
	 */
	public LockFiguresSampler(LockInspector inspector) {
		this.inspector = inspector;
	}

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		this.latest.put(status.migrationId(), this.inspector.tableLockFigures(status.migration().table()));
	}

	/**
	 * Return a migration's lock figures as sampled at the last heartbeat.
	 * @param migrationId the migration
	 * @return the figures, or {@code null} before the first sample
	 */
	public @Nullable TableLockFigures figures(String migrationId) {
		return this.latest.get(migrationId);
	}

}
