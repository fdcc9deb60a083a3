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
import dev.zdm.internal.locks.WalInspector;

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
 * @param walInspector where the load checks read the WAL archive backlog and rate, or
 * {@code null} for no such checks
 * @param throttles further load checks consulted before each batch
 * @param listener the listener told of each batch, pass and hold-back
 * @param applicationLatency the application's own database call times, for the pacing, or
 * {@code null} if they cannot be read
 * @param maxConcurrentBackfills most backfill runs at once on the database, across the
 * fleet
 */
public record BackfillEnvironment(DataSource dataSource, FleetRegistry fleet, MigrationStateRepository states,
		Duration fleetTimeout, LockInspector lockInspector, @Nullable ReplicationLagInspector replicationLagInspector,
		@Nullable WalInspector walInspector, List<BackfillThrottle> throttles, BackfillListener listener,
		@Nullable ApplicationLatency applicationLatency, int maxConcurrentBackfills) {

	/**
	 * The default {@link #maxConcurrentBackfills()}.
	 */
	public static final int DEFAULT_MAX_CONCURRENT_BACKFILLS = 2;

	public BackfillEnvironment {
		throttles = List.copyOf(throttles);
		if (maxConcurrentBackfills < 1) {
			throw new IllegalArgumentException(
					"At least one backfill must be allowed at once (was " + maxConcurrentBackfills + ")");
		}
	}

	public BackfillEnvironment(DataSource dataSource, FleetRegistry fleet, MigrationStateRepository states,
			Duration fleetTimeout, LockInspector lockInspector,
			@Nullable ReplicationLagInspector replicationLagInspector, List<BackfillThrottle> throttles,
			BackfillListener listener) {
		this(dataSource, fleet, states, fleetTimeout, lockInspector, replicationLagInspector, null, throttles, listener,
				null, DEFAULT_MAX_CONCURRENT_BACKFILLS);
	}

}
