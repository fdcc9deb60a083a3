package dev.zdm.internal.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.Phase;

/**
 * Remembers, per migration, since which heartbeat this instance's effective phase has
 * been behind the requested one, so that a phase held back for long can be reported.
 */
public class HeldBackTracker implements MigrationParticipant {

	private final Map<String, Instant> heldBackSince = new ConcurrentHashMap<>();

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		// abandon is never an effective phase: the abandon reports its own progress
		if (status.effective() == status.requested() || status.requested() == Phase.ABANDON) {
			this.heldBackSince.remove(status.migrationId());
		}
		else {
			this.heldBackSince.putIfAbsent(status.migrationId(), status.decidedAt());
		}
	}

	/**
	 * Return for how long a migration's effective phase has been behind the requested
	 * one.
	 * @param migrationId the migration
	 * @return how long, or {@code null} if it is not held back
	 */
	public @Nullable Duration heldBackFor(String migrationId) {
		Instant since = this.heldBackSince.get(migrationId);
		return (since != null) ? Duration.between(since, Instant.now()) : null;
	}

}
