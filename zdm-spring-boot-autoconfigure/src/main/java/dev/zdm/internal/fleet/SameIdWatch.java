package dev.zdm.internal.fleet;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Tells, for one migration, another process's writes of this instance's row in the fleet
 * registry from this instance's own. The registry holds one row per instance id, so two
 * processes under one id (a second instance configured with the same
 * {@code zdm.instance-id}, or an earlier process of the id killed less than the fleet
 * timeout ago) would each read the other as itself and leave it out of the one-phase
 * rule. A row whose heartbeat time is not the one this instance last wrote was written by
 * another process, which then counts as a member of the fleet at the phase it wrote until
 * it has not written for the fleet timeout. Used under the controller's heartbeat
 * monitor, one heartbeat at a time.
 */
final class SameIdWatch {

	private static final Log logger = LogFactory.getLog(SameIdWatch.class);

	// the heartbeat time this instance last wrote to its row, in database time
	private volatile @Nullable Instant lastWritten;

	// the row as the other process last wrote it, and when that was seen
	// (System.nanoTime())
	private volatile @Nullable FleetMember other;

	private volatile long otherSeenAt;

	private volatile boolean reported;

	/**
	 * Return the other process under this instance's id as a member of the fleet, while
	 * it wrote the row within the fleet timeout, from the live members read under the
	 * fleet's lock before this heartbeat writes.
	 * @param instanceId this instance's id
	 * @param migrationId the migration
	 * @param live the migration's live members, this instance's row included
	 * @param timeout the fleet timeout
	 * @return the other process, or {@code null}
	 */
	@Nullable FleetMember otherProcess(String instanceId, String migrationId, List<FleetMember> live, Duration timeout) {
		FleetMember own = live.stream()
			.filter((member) -> member.instanceId().equals(instanceId))
			.findFirst()
			.orElse(null);
		Instant written = this.lastWritten;
		if (own == null) {
			// the row is gone: the other process left the fleet (a graceful stop removes
			// its id's rows), or it timed out and was purged
			this.other = null;
		}
		else if (!own.heartbeatAt().equals(written)) {
			if (written == null) {
				logger.info("zdm: migration '" + migrationId + "': instance id " + instanceId
						+ " was live in the fleet before this instance joined, at " + own.effectivePhase()
						+ ": an earlier process under this id, gone less than zdm.fleet.timeout ago, or another "
						+ "instance configured with the same zdm.instance-id; this instance keeps within one phase of "
						+ "it until it has been gone that long");
			}
			else if (!this.reported) {
				this.reported = true;
				logger.error("zdm: migration '" + migrationId + "': another live process writes this instance's "
						+ "row in the fleet registry (instance id " + instanceId + ", at " + own.effectivePhase()
						+ "): two instances are configured with the same zdm.instance-id and the fleet would see "
						+ "them as one. Give each instance its own zdm.instance-id, or leave it unset (the default is "
						+ "unique); until then this instance keeps within one phase of the other");
			}
			this.other = own;
			this.otherSeenAt = System.nanoTime();
		}
		FleetMember seen = this.other;
		if (seen == null) {
			return null;
		}
		if (System.nanoTime() - this.otherSeenAt > timeout.toNanos()) {
			this.other = null;
			return null;
		}
		return new FleetMember(instanceId + " (another process under this instance id)", seen.migrationId(),
				seen.requestedPhase(), seen.effectivePhase(), seen.heldBackReason(), seen.applicationVersion(),
				seen.host(), seen.pid(), seen.startedAt(), seen.heartbeatAt(), true);
	}

	/**
	 * Record the heartbeat time this instance wrote to its row, once committed.
	 * @param written the time, in database time
	 */
	void written(Instant written) {
		this.lastWritten = written;
	}

}
