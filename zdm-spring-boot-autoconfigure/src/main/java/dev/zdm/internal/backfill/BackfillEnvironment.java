package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;

/**
 * What every backfill run of an instance works with, whichever migration it backfills.
 *
 * @param dataSource the application's data source
 * @param fleet the fleet registry, to check the fleet before recording a verification
 * @param states the migrations' fleet-wide state, where a verification is recorded
 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
 * fleet
 * @param lockInspector where the load checks read lock waiters and old transactions
 * @param replicationLagInspector where the load checks read the replicas' lag, or
 * {@code null} for no such check
 * @param throttles further load checks consulted before each batch
 * @param listener the listener told of each batch, pass and hold-back
 */
public record BackfillEnvironment(DataSource dataSource, FleetRegistry fleet, MigrationStateRepository states,
		Duration fleetTimeout, LockInspector lockInspector, @Nullable ReplicationLagInspector replicationLagInspector,
		List<BackfillThrottle> throttles, BackfillListener listener) {

	public BackfillEnvironment {
		throttles = List.copyOf(throttles);
	}

	/**
	 * Return this environment with another listener.
	 * @param listener the listener
	 * @return the environment
	 */
	BackfillEnvironment withListener(BackfillListener listener) {
		return new BackfillEnvironment(this.dataSource, this.fleet, this.states, this.fleetTimeout, this.lockInspector,
				this.replicationLagInspector, this.throttles, listener);
	}

}
