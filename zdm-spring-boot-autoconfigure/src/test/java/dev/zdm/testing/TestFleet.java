package dev.zdm.testing;

import java.time.Duration;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.FleetSettings;

/**
 * The fleet timing of zdm's own tests, in one place: heartbeats every 100 ms, so that a
 * phase climbs quickly, and a liveness timeout that a loaded machine does not trip, so
 * that a live instance is never seen dead. An instance leaves the fleet when it stops; a
 * test that needs an instance seen dead without it stopping (one registered by hand)
 * {@link #expire expires} it rather than waiting for the timeout. The test kit's
 * {@code PhaseWalk} shortens its fleet timing for users in the same way.
 */
public final class TestFleet {

	/**
	 * How often an instance heartbeats and recomputes its effective phases.
	 */
	public static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(100);

	/**
	 * How long after its last heartbeat an instance drops out of the fleet.
	 */
	public static final Duration TIMEOUT = Duration.ofSeconds(5);

	/**
	 * How long a joining instance waits for instances more than one phase ahead of it to
	 * step back.
	 */
	public static final Duration JOIN_TIMEOUT = Duration.ofSeconds(3);

	/**
	 * The timing as settings, for a phase controller built by hand.
	 */
	public static final FleetSettings SETTINGS = new FleetSettings(HEARTBEAT_INTERVAL, TIMEOUT, JOIN_TIMEOUT,
			Duration.ofHours(1));

	private TestFleet() {
	}

	/**
	 * Return the timing as properties, for an application context.
	 * @return the {@code zdm.fleet.*} properties
	 */
	public static String[] properties() {
		return new String[] { "zdm.fleet.heartbeat-interval=" + HEARTBEAT_INTERVAL.toMillis() + "ms",
				"zdm.fleet.timeout=" + TIMEOUT.toMillis() + "ms",
				"zdm.fleet.join-timeout=" + JOIN_TIMEOUT.toMillis() + "ms" };
	}

	/**
	 * Age an instance's last heartbeats by more than the timeout, as if it had stopped
	 * heartbeating that long ago: the fleet's next heartbeat no longer counts it as live.
	 * @param dataSource the database
	 * @param instanceId the instance
	 * @see #age(DataSource, String, Duration)
	 */
	public static void expire(DataSource dataSource, String instanceId) {
		age(dataSource, instanceId, TIMEOUT.plusSeconds(1));
	}

	/**
	 * Age an instance's last heartbeats (and its leaving, if it left the fleet), as if
	 * that much time had passed since them. Meant for an instance that no longer
	 * heartbeats, as one registered by hand: a running instance is as young as ever at
	 * its own next heartbeat.
	 * @param dataSource the database
	 * @param instanceId the instance
	 * @param by how much older its heartbeats become
	 */
	public static void age(DataSource dataSource, String instanceId, Duration by) {
		int aged = new JdbcTemplate(dataSource).update(
				"UPDATE zdm_instance SET heartbeat_at = heartbeat_at - make_interval(secs => ?), "
						+ "left_at = left_at - make_interval(secs => ?) WHERE instance_id = ?",
				by.toMillis() / 1000.0, by.toMillis() / 1000.0, instanceId);
		if (aged == 0) {
			throw new IllegalStateException("Instance '" + instanceId + "' is not registered");
		}
	}

}
