package dev.zdm.internal.fleet;

import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * A migration as this instance saw it at its last heartbeat.
 *
 * @param migration the migration's definition, validated against the catalog
 * @param instanceId this instance's id
 * @param effective the phase this instance runs at
 * @param heldBackReason why the effective phase is behind the requested one, or
 * {@code null}
 * @param fleet every registered instance, live or not, this one included
 * @param state the migration's fleet-wide state
 * @param decidedAt when this was decided (this instance's clock)
 * @param lastHeartbeatError the last heartbeat's failure, or {@code null} if it succeeded
 */
public record MigrationStatus(MigrationDefinition migration, String instanceId, Phase effective,
		@Nullable String heldBackReason, List<FleetMember> fleet, MigrationState state, Instant decidedAt,
		@Nullable String lastHeartbeatError) {

	/**
	 * Return the migration's id.
	 * @return the id
	 */
	public String migrationId() {
		return this.migration.id();
	}

	/**
	 * Return the phase this instance requests.
	 * @return the requested phase
	 */
	public Phase requested() {
		return this.migration.requestedPhase();
	}

	/**
	 * Return this status with the migration's state as read since.
	 * @param current the state read from the database
	 * @return the status
	 */
	public MigrationStatus withState(MigrationState current) {
		return new MigrationStatus(this.migration, this.instanceId, this.effective, this.heldBackReason, this.fleet,
				current, this.decidedAt, this.lastHeartbeatError);
	}

	/**
	 * Return the live instances, this one included.
	 * @return the live members
	 */
	public List<FleetMember> liveMembers() {
		return this.fleet.stream().filter(FleetMember::live).toList();
	}

	/**
	 * Whether every live instance runs at least at the given phase.
	 * @param phase the phase
	 * @return {@code true} if the whole live fleet has reached it
	 */
	public boolean wholeFleetAtLeast(Phase phase) {
		return this.effective.isAtLeast(phase)
				&& liveMembers().stream().allMatch((member) -> member.effectivePhase().isAtLeast(phase));
	}

}
