package dev.zdm.health;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import dev.zdm.phase.MigrationStatus;
import dev.zdm.phase.PhaseController;

/**
 * {@link org.springframework.boot.health.contributor.HealthIndicator} for zdm: down while an instance cannot
 * heartbeat (so the fleet may drop it), up otherwise, with each migration's requested and effective phase.
 */
public class ZdmHealthIndicator extends AbstractHealthIndicator {

	private final PhaseController controller;

	/**
	 * Create an indicator.
	 * @param controller the phase controller
	 */
	public ZdmHealthIndicator(PhaseController controller) {
		super("zdm health check failed");
		this.controller = controller;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		builder.up();
		for (MigrationStatus status : this.controller.statuses()) {
			String summary = status.effective().value()
					+ ((status.effective() != status.requested()) ? " (requested " + status.requested() + ": "
							+ status.heldBackReason() + ")" : "");
			if (status.lastHeartbeatError() != null) {
				builder.down();
				summary = summary + "; heartbeat failing: " + status.lastHeartbeatError();
			}
			builder.withDetail(status.migrationId(), summary);
		}
	}

}
