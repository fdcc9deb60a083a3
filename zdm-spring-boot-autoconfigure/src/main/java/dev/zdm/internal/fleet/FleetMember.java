package dev.zdm.internal.fleet;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.Phase;

/**
 * One instance registered for one migration in the fleet registry.
 *
 * @param instanceId the instance's id
 * @param migrationId the migration
 * @param requestedPhase the phase the instance's configuration requests
 * @param effectivePhase the phase the instance runs at
 * @param heldBackReason why the effective phase is behind the requested one, if it is
 * @param applicationVersion the application's version
 * @param host the host name
 * @param pid the process id
 * @param startedAt when the instance registered
 * @param heartbeatAt the instance's last heartbeat, in database time
 * @param live whether the last heartbeat is within the fleet timeout
 */
public record FleetMember(String instanceId, String migrationId, Phase requestedPhase, Phase effectivePhase,
		@Nullable String heldBackReason, @Nullable String applicationVersion, @Nullable String host, long pid,
		Instant startedAt, Instant heartbeatAt, boolean live) {

	/**
	 * Name this member as one a step the whole fleet must agree on waits for: a live one
	 * by the phase it runs, one that left by the phase it left at.
	 * @return the description
	 */
	public String waitedFor() {
		return this.live
				? "instance " + this.instanceId + " (requests " + this.requestedPhase + ", runs " + this.effectivePhase
						+ ")"
				: "instance " + this.instanceId + " (left the fleet at " + this.effectivePhase
						+ " less than zdm.fleet.timeout ago: it may be restarting at that phase)";
	}

}
