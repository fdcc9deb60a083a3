package dev.zdm.internal.fleet;

import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;

/**
 * What a heartbeat does to the backfill's verification, in the fleet's transaction: it
 * voids it when this instance asks for {@code read-new} of a migration whose outside
 * writers nothing syncs and the verification ran before it asked
 * ({@link PhasePolicy#verifyAgainBeforeReadNew}), or when this instance runs
 * {@code expand} and writes the old side only; and it records when an instance first runs
 * {@code read-new}.
 */
final class VerificationVoids {

	private static final Log logger = LogFactory.getLog(PhaseController.class);

	private final MigrationStateRepository states;

	private final PhasePolicy policy;

	private final String instanceId;

	private final Predicate<MigrationDefinition> syncedInTable;

	private final Predicate<MigrationDefinition> partitioned;

	VerificationVoids(MigrationStateRepository states, PhasePolicy policy, String instanceId,
			Predicate<MigrationDefinition> syncedInTable, Predicate<MigrationDefinition> partitioned) {
		this.states = states;
		this.policy = policy;
		this.instanceId = instanceId;
		this.syncedInTable = syncedInTable;
		this.partitioned = partitioned;
	}

	/**
	 * Before the phase is decided.
	 * @param runtime the migration as this instance runs it
	 * @param liveOthers the other live instances
	 * @return the migration's state to decide with
	 */
	MigrationState beforeDecision(MigrationRuntime runtime, List<FleetMember> liveOthers) {
		MigrationDefinition migration = runtime.migration();
		MigrationState state = this.states.find(migration.id());
		boolean partitioned = migration.sync() == SyncMode.TRIGGER && this.partitioned.test(migration);
		if (this.policy.verifyAgainBeforeReadNew(migration, liveOthers, state, runtime.askedForReadNewAt(),
				partitioned)) {
			voidVerification(migration, false,
					"instance " + this.instanceId + " asks for read-new, and " + (partitioned
							? "the sync trigger never saw the rows of a partition attached to " + migration.table()
									+ " since the verification"
							: "with sync: " + migration.sync().value()
									+ " nothing syncs what a writer outside the application wrote on the old side "
									+ "since the verification")
							+ ": it runs again, repairing from the old side, before any instance reads the new side");
			state = this.states.find(migration.id());
		}
		return state;
	}

	/**
	 * After the phase is decided and the heartbeat written.
	 * @param migration the migration
	 * @param effective the phase this instance runs at
	 * @param state the state it was decided with
	 * @param fleet the fleet's live instances and those that left it less than the fleet
	 * timeout ago, read only when needed
	 * @return the migration's state now
	 */
	MigrationState afterDecision(MigrationDefinition migration, Phase effective, MigrationState state,
			Supplier<List<FleetMember>> fleet) {
		if (effective == Phase.EXPAND && state.isVerified() && !this.syncedInTable.test(migration)) {
			voidVerification(migration, true,
					"instance " + this.instanceId + " runs expand and writes the old columns only");
			return this.states.find(migration.id());
		}
		if (PhasePolicy.runsReadNew(effective) && state.readNewAt() == null && !state.isContracted()) {
			this.states.markReadNew(migration.id());
		}
		else if (state.readNewAt() != null && !PhasePolicy.runsReadNew(effective) && !state.isContracted()
				&& !state.isAbandoned()
				&& fleet.get()
					.stream()
					.filter((member) -> !member.instanceId().equals(this.instanceId))
					.noneMatch((member) -> PhasePolicy.runsReadNew(member.effectivePhase()))
				&& this.states.clearReadNew(migration.id())) {
			// the fleet went back below read-new (no instance runs it, nor left it less
			// than the fleet timeout ago, as one restarting does): the old side is the
			// source of truth again, and what a writer outside the application writes
			// there from now on must reach the new side before the fleet reads it again
			// (a walk back and forth once served the new side's stale rows)
			logger.info("zdm: migration '" + migration.id() + "': no instance runs read-new any more; the next "
					+ "instance that asks for it has the backfill verified again first");
			return this.states.find(migration.id());
		}
		return state;
	}

	// a void that a rollout in phase order expects (once, before read-new) is told at
	// INFO, one that it does not at WARN
	private void voidVerification(MigrationDefinition migration, boolean unexpected, String reason) {
		if (this.states.voidVerification(migration.id(), reason)) {
			String message = "zdm: migration '" + migration.id() + "': backfill verification voided: " + reason;
			if (unexpected) {
				logger.warn(message);
			}
			else {
				logger.info(message);
			}
		}
	}

}
