package dev.zdm.internal.fleet;

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

	/**
	 * Return the defaults, as the {@code zdm.fleet.*} properties have them: a heartbeat
	 * every 5 seconds, out of the fleet after 30 seconds without one, joining waits at
	 * most 30 seconds, and stopped instances are listed for an hour.
	 * @return the default settings
	 */
	public static FleetSettings defaults() {
		return new FleetSettings(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(30),
				Duration.ofHours(1));
	}

	/**
	 * Return these settings with another heartbeat interval and liveness timeout, which
	 * are checked together.
	 * @param heartbeatInterval how often an instance heartbeats
	 * @param timeout how long after its last heartbeat an instance drops out of the
	 * fleet, at least twice the interval
	 * @return the settings
	 */
	public FleetSettings withHeartbeat(Duration heartbeatInterval, Duration timeout) {
		return new FleetSettings(heartbeatInterval, timeout, this.joinTimeout, this.retention);
	}

	/**
	 * Return these settings with another join timeout.
	 * @param joinTimeout how long a joining instance waits for instances more than one
	 * phase ahead of it to step back
	 * @return the settings
	 */
	public FleetSettings withJoinTimeout(Duration joinTimeout) {
		return new FleetSettings(this.heartbeatInterval, this.timeout, joinTimeout, this.retention);
	}

	/**
	 * Return these settings with another retention.
	 * @param retention how long an instance that stopped heartbeating stays listed
	 * @return the settings
	 */
	public FleetSettings withRetention(Duration retention) {
		return new FleetSettings(this.heartbeatInterval, this.timeout, this.joinTimeout, retention);
	}

}
