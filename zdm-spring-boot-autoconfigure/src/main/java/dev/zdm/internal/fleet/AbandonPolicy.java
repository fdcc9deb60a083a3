package dev.zdm.internal.fleet;

import java.util.List;

import dev.zdm.migration.Phase;

/**
 * The effective phase of an instance that requests {@link Phase#ABANDON abandon}, and of
 * every instance once a migration is abandoned. Abandon is not a step of the phases'
 * order, so it never is an effective phase: the instance routes as {@code dual-write}
 * (reads the old side and keeps the new one in sync) while any live instance that does
 * not abandon still writes or reads the new side, and as {@code expand} (the old side
 * only) once none does. Being at most one phase ahead of it, an instance at
 * {@code read-new} or {@code contract} steps back to {@code backfill} and reads the old
 * side too: routing goes back to the old side everywhere first. Once every live instance
 * requests abandon and routes to the old side only, the abandon is claimed and from then
 * on every instance runs {@code expand}.
 */
final class AbandonPolicy {

	private AbandonPolicy() {
	}

	static PhaseDecision decide(List<FleetMember> liveOthers, MigrationState state) {
		if (state.isAbandoned()) {
			return new PhaseDecision(Phase.EXPAND, "the migration is abandoned (claimed by instance "
					+ state.abandonedBy() + "): the old side only, and what the expand created is dropped");
		}
		List<FleetMember> needNew = liveOthers.stream()
			.filter((member) -> member.requestedPhase() != Phase.ABANDON
					&& member.effectivePhase().isAtLeast(Phase.DUAL_WRITE))
			.toList();
		if (!needNew.isEmpty()) {
			return new PhaseDecision(Phase.DUAL_WRITE,
					"abandon: reads the old side and keeps the new side in sync while " + describe(needNew)
							+ ((needNew.size() == 1) ? " still writes or reads it" : " still write or read it"));
		}
		List<FleetMember> waiting = liveOthers.stream()
			.filter((member) -> member.requestedPhase() != Phase.ABANDON || member.effectivePhase() != Phase.EXPAND)
			.toList();
		return new PhaseDecision(Phase.EXPAND,
				"abandon: the old side only; what the expand created is dropped once every live instance does so"
						+ (waiting.isEmpty() ? "" : ", waiting for " + describe(waiting)));
	}

	private static String describe(List<FleetMember> members) {
		StringBuilder description = new StringBuilder((members.size() == 1) ? "instance " : "instances ");
		for (int i = 0; i < members.size(); i++) {
			FleetMember member = members.get(i);
			description.append((i > 0) ? ", " : "")
				.append(member.instanceId())
				.append(" (")
				.append((member.requestedPhase() == Phase.ABANDON) ? "abandon, at " : "")
				.append(member.effectivePhase())
				.append(")");
		}
		return description.toString();
	}

}
