package dev.zdm.fleet;

import java.time.Duration;

/**
 * How the fleet registry keeps time.
 *
 * @param heartbeatInterval how often an instance heartbeats and recomputes its effective
 * phase
 * @param timeout how long after its last heartbeat an instance drops out of the fleet
 * @param joinTimeout how long a joining instance waits for instances more than one phase
 * ahead of it to step back
 * @param retention how long an instance that stopped heartbeating stays listed
 */
public record FleetSettings(Duration heartbeatInterval, Duration timeout, Duration joinTimeout, Duration retention) {

	/**
	 * Create settings, checking they are consistent.
	 */
	public FleetSettings {
		if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
			throw new IllegalArgumentException("zdm.fleet.heartbeat-interval must be positive");
		}
		if (timeout.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
			throw new IllegalArgumentException("zdm.fleet.timeout (" + timeout
					+ ") must be at least twice zdm.fleet.heartbeat-interval (" + heartbeatInterval + ")");
		}
	}

}
