package dev.zdm.health;

import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import dev.zdm.ddl.ExpandContractRunner;
import dev.zdm.ddl.ExpandProgress;
import dev.zdm.phase.MigrationStatus;
import dev.zdm.phase.PhaseController;

/**
 * {@link org.springframework.boot.health.contributor.HealthIndicator} for zdm: down while an instance cannot
 * heartbeat (so the fleet may drop it), up otherwise, with each migration's requested and effective phase and,
 * under {@code expand}, where each migration's expand DDL stands (what it waits for, who blocked its last attempt,
 * and {@code stalled} once it has been pending for longer than {@code zdm.ddl.expand-alert-after}). A pending or
 * stalled expand never makes the instance down: it serves correctly through the old schema meanwhile.
 */
public class ZdmHealthIndicator extends AbstractHealthIndicator {

	private final PhaseController controller;

	private final @Nullable ExpandContractRunner ddlRunner;

	/**
	 * Create an indicator.
	 * @param controller the phase controller
	 */
	public ZdmHealthIndicator(PhaseController controller) {
		this(controller, null);
	}

	/**
	 * Create an indicator that also reports where each migration's expand DDL stands.
	 * @param controller the phase controller
	 * @param ddlRunner the DDL runner, or {@code null}
	 */
	public ZdmHealthIndicator(PhaseController controller, @Nullable ExpandContractRunner ddlRunner) {
		super("zdm health check failed");
		this.controller = controller;
		this.ddlRunner = ddlRunner;
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
		Map<String, Object> expand = new LinkedHashMap<>();
		if (this.ddlRunner != null) {
			for (MigrationStatus status : this.controller.statuses()) {
				ExpandProgress progress = this.ddlRunner.expandProgress(status.migrationId());
				if (progress != null && progress.state() != ExpandProgress.State.DONE) {
					expand.put(status.migrationId(), progress);
				}
			}
		}
		if (!expand.isEmpty()) {
			builder.withDetail("expand", expand);
		}
	}

}
