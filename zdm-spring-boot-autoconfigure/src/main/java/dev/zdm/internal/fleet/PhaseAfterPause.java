package dev.zdm.internal.fleet;

import java.time.Duration;
import java.time.Instant;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.zdm.migration.Phase;

/**
 * The phase to route by after this instance's last heartbeat decided it more than the
 * fleet timeout ago: the process paused, its machine frozen, its heartbeat thread
 * starved. The fleet counted it as gone meanwhile and may have run the contract or the
 * abandon without it; the migration's state, read before the call, says so before the
 * next heartbeat does, so that no call goes to the side that was dropped. Not after a
 * failed heartbeat: the database is not reachable, and a read would only add its wait.
 */
final class PhaseAfterPause {

	private static final Log logger = LogFactory.getLog(PhaseAfterPause.class);

	private final MigrationStateRepository states;

	private final Duration fleetTimeout;

	PhaseAfterPause(MigrationStateRepository states, Duration fleetTimeout) {
		this.states = states;
		this.fleetTimeout = fleetTimeout;
	}

	Phase phase(MigrationStatus status) {
		Phase phase = status.effective();
		if (phase == Phase.CONTRACT || status.lastHeartbeatError() != null
				|| Duration.between(status.decidedAt(), Instant.now()).compareTo(this.fleetTimeout) <= 0) {
			return phase;
		}
		try {
			MigrationState state = this.states.find(status.migrationId());
			if (state.isContracted()) {
				return Phase.CONTRACT;
			}
			if (state.isAbandoned()) {
				// the new side is dropped: the old one only
				return Phase.EXPAND;
			}
		}
		catch (RuntimeException ex) {
			logger.debug("zdm: migration '" + status.migrationId() + "': could not read its state after a heartbeat "
					+ "older than the fleet timeout", ex);
		}
		return phase;
	}

}
