package dev.zdm.testkit;

import java.time.Duration;
import java.util.Collection;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;

/**
 * Whether an instance has arrived at the phases it requests: runs each migration at its
 * requested phase, with the expand DDL done, and at {@code contract} with the contract
 * DDL run. The fleet, the DDL and the backfill keep their state in the database and
 * signal nothing, so the kit reads the state again until it holds.
 */
final class PhaseArrival {

	static final Duration POLL = Duration.ofMillis(50);

	private PhaseArrival() {
	}

	/**
	 * Say why an instance does not run a migration at the phase it requests yet.
	 * @param controller the instance's phase controller
	 * @param migrationId the migration
	 * @param name the instance, for the message
	 * @param requested the phase it requests
	 * @return what is not met yet, or {@code null} once it runs at its phase with the
	 * expand DDL done
	 */
	static @Nullable String phaseUnmet(PhaseController controller, String migrationId, String name, Phase requested) {
		MigrationStatus status = controller.status(migrationId);
		if (status.effective() != requested) {
			return "instance " + name + " runs migration '" + migrationId + "' at " + status.effective() + ", not at "
					+ requested + ((status.heldBackReason() != null) ? ": " + status.heldBackReason() : "")
					+ ((status.lastHeartbeatError() != null)
							? " (last heartbeat failed: " + status.lastHeartbeatError() + ")" : "");
		}
		if (!TestKitSupport.isDdlStepDone(controller, migrationId, false)) {
			return "the expand DDL of migration '" + migrationId + "' has not finished: "
					+ TestKitSupport.describeDdlStep(controller, migrationId, false);
		}
		return null;
	}

	/**
	 * Say why a migration is not contracted yet, as an instance sees it.
	 * @param controller the instance's phase controller
	 * @param migrationId the migration
	 * @param name the instance, for the message
	 * @return what is not met yet, or {@code null} once the contract DDL ran and the
	 * instance sees the migration as contracted
	 */
	static @Nullable String contractUnmet(PhaseController controller, String migrationId, String name) {
		if (!TestKitSupport.isDdlStepDone(controller, migrationId, true)) {
			String heldBack = controller.stepHeldBack(migrationId);
			return "the contract DDL of migration '" + migrationId + "' did not run: "
					+ TestKitSupport.describeDdlStep(controller, migrationId, true)
					+ ((heldBack != null) ? "; " + heldBack : "");
		}
		if (!controller.status(migrationId).state().isContracted()) {
			return "instance " + name + " does not see migration '" + migrationId + "' as contracted";
		}
		return null;
	}

	/**
	 * Say why the instances of an application context do not run every migration at the
	 * phase they request yet, contracted where they request {@code contract}.
	 * @param controllers the context's phase controllers (one per database zdm runs on)
	 * @return what is not met yet, or {@code null} once everything is
	 */
	static @Nullable String unmet(Collection<PhaseController> controllers) {
		for (PhaseController controller : controllers) {
			String name = controller.instance().instanceId();
			for (MigrationStatus status : controller.statuses()) {
				String id = status.migrationId();
				String unmet = phaseUnmet(controller, id, name, status.requested());
				if (unmet == null && status.requested() == Phase.CONTRACT) {
					unmet = contractUnmet(controller, id, name);
				}
				if (unmet != null) {
					return unmet;
				}
			}
		}
		return null;
	}

}
