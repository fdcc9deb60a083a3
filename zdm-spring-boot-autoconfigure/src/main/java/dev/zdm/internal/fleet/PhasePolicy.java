package dev.zdm.internal.fleet;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * The rules that turn a requested phase into an effective one. An instance runs at the
 * highest phase that
 * <ul>
 * <li>it requests;</li>
 * <li>is at most one phase ahead of the slowest other live instance;</li>
 * <li>is at most one phase ahead of where it runs now, so the fleet sees every step;</li>
 * <li>has its data preconditions: {@code read-new} and later need a verified
 * backfill;</li>
 * <li>is within every {@link PhaseLimit limit} of the participants: nothing past
 * {@code expand} until the expand DDL is done.</li>
 * </ul>
 * Once the contract DDL has run, every instance runs at {@code contract}, and one that
 * requests another phase is refused ({@link #refuseImpossible}). An instance that
 * requests {@code abandon}, and every instance of an abandoned migration, runs as
 * {@link AbandonPolicy} decides.
 */
public class PhasePolicy {

	/**
	 * Decide the phase an instance may run at.
	 * @param migration the migration, with the phase the instance requests
	 * @param current the phase the instance runs at now, or {@code null} if it is joining
	 * @param liveOthers the other live instances of the fleet
	 * @param state the migration's fleet-wide state
	 * @return the decision
	 */
	public PhaseDecision decide(MigrationDefinition migration, @Nullable Phase current, List<FleetMember> liveOthers,
			MigrationState state) {
		return decide(migration, current, liveOthers, state, List.of());
	}

	/**
	 * Decide the phase an instance may run at.
	 * @param migration the migration, with the phase the instance requests
	 * @param current the phase the instance runs at now, or {@code null} if it is joining
	 * @param liveOthers the other live instances of the fleet
	 * @param state the migration's fleet-wide state
	 * @param limits the participants' limits
	 * @return the decision
	 */
	public PhaseDecision decide(MigrationDefinition migration, @Nullable Phase current, List<FleetMember> liveOthers,
			MigrationState state, List<PhaseLimit> limits) {
		if (state.isContracted()) {
			return new PhaseDecision(Phase.CONTRACT, null);
		}
		if (migration.requestedPhase() == Phase.ABANDON || state.isAbandoned()) {
			return AbandonPolicy.decide(liveOthers, state);
		}
		Phase effective = migration.requestedPhase();
		String reason = null;
		Optional<FleetMember> slowest = liveOthers.stream().min(Comparator.comparing(FleetMember::effectivePhase));
		if (slowest.isPresent()) {
			Phase allowed = slowest.get().effectivePhase().next();
			if (effective.isAfter(allowed)) {
				effective = allowed;
				reason = "instance " + slowest.get().instanceId() + " runs " + slowest.get().effectivePhase()
						+ " and no instance may run more than one phase ahead of the slowest live instance";
			}
		}
		if (current != null && effective.isAfter(current.next())) {
			effective = current.next();
			reason = "the phase moves up one step per heartbeat so that the whole fleet sees each step";
		}
		if (migration.hasBackfill() && effective.isAtLeast(Phase.READ_NEW) && !state.isVerified()) {
			effective = Phase.BACKFILL;
			reason = "read-new needs a verified backfill, and the backfill is "
					+ ((state.verificationVoidReason() != null)
							? "no longer verified (" + state.verificationVoidReason() + ")" : "not verified yet");
		}
		for (PhaseLimit limit : limits) {
			if (effective.isAfter(limit.highest())) {
				effective = limit.highest();
				reason = limit.reason();
			}
		}
		return new PhaseDecision(effective, reason);
	}

	/**
	 * Whether the backfill's verification must run again before an instance that asks for
	 * {@code read-new} may run it. A migration kept in sync by the application's own
	 * statements ({@code sync: application}) or repositories ({@code sync: repositories},
	 * as every cross-table one) has nothing that syncs a writer outside the application:
	 * what such a writer wrote on the old side alone since the verification would be read
	 * stale from {@code read-new} on. Nor is a partitioned table's partition attached
	 * since the verification, whose rows the sync trigger never saw. So the verification
	 * is voided, once, when it ran before this instance first asked for {@code read-new}
	 * and no instance has run {@code read-new} yet; it runs again, repairing from the old
	 * side, which is still the source of truth, before any instance reads the new side.
	 * @param migration the migration, with the phase the instance requests
	 * @param liveOthers the other live instances of the fleet
	 * @param state the migration's fleet-wide state
	 * @param askedSince when this instance first asked for {@code read-new} or later, as
	 * the database's clock read it, or {@code null} if it asks for the first time now
	 * @param partitioned whether the migration's table is partitioned
	 * @return {@code true} if the verification is to be voided
	 */
	public boolean verifyAgainBeforeReadNew(MigrationDefinition migration, List<FleetMember> liveOthers,
			MigrationState state, @Nullable Instant askedSince, boolean partitioned) {
		Instant verifiedAt = state.verifiedAt();
		return (migration.sync() != SyncMode.TRIGGER || partitioned) && migration.hasBackfill()
				&& asksForReadNew(migration) && !state.isContracted() && !state.isAbandoned()
				&& state.readNewAt() == null && verifiedAt != null
				&& (askedSince == null || verifiedAt.isBefore(askedSince))
				&& liveOthers.stream().noneMatch((member) -> runsReadNew(member.effectivePhase()));
	}

	static boolean asksForReadNew(MigrationDefinition migration) {
		return runsReadNew(migration.requestedPhase());
	}

	static boolean runsReadNew(Phase phase) {
		return phase != Phase.ABANDON && phase.isAtLeast(Phase.READ_NEW);
	}

	/**
	 * Refuse a requested phase that the migration's recorded state rules out: any but
	 * {@code contract} once the contract DDL has run, any but {@code abandon} once the
	 * abandon was claimed, and {@code abandon} after the contract.
	 * @param migration the migration, with the phase the instance requests
	 * @param state the migration's fleet-wide state
	 * @throws ZdmConfigurationException if the phase cannot be requested
	 */
	public void refuseImpossible(MigrationDefinition migration, MigrationState state) {
		if (state.isContracted() && migration.requestedPhase() == Phase.ABANDON) {
			throw new ZdmConfigurationException(migration.id(),
					"requests abandon, but its contract DDL already ran or runs now (claimed at " + state.contractedAt()
							+ " by instance " + state.contractedBy()
							+ "), so the old schema is gone and there is nothing to go back to",
					"Set zdm.migrations." + migration.id() + ".phase=contract. A contracted migration cannot be "
							+ "abandoned; to undo it, write a new migration that goes the other way.");
		}
		if (state.isAbandoned() && migration.requestedPhase() != Phase.ABANDON) {
			throw new ZdmConfigurationException(migration.id(),
					"requests phase " + migration.requestedPhase() + ", but the migration was abandoned at "
							+ state.abandonedAt() + " (claimed by instance " + state.abandonedBy()
							+ "): what its expand created is dropped",
					"Set zdm.migrations." + migration.id() + ".phase=abandon, or remove the declaration and the "
							+ "new code. To run the migration again, declare it under a new id.");
		}
		if (state.isContracted() && migration.requestedPhase() != Phase.CONTRACT) {
			throw new ZdmConfigurationException(migration.id(),
					"requests phase " + migration.requestedPhase() + ", but its contract DDL already ran or runs now "
							+ "(claimed at " + state.contractedAt() + " by instance " + state.contractedBy()
							+ "), so the old schema is gone",
					"Set zdm.migrations." + migration.id() + ".phase=contract and deploy code that uses the new "
							+ "schema only. A contracted migration cannot go back.");
		}
	}

}
