package dev.zdm.testing;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillThrottle;
import dev.zdm.internal.backfill.ApplicationLatency;
import dev.zdm.internal.backfill.BackfillEnvironment;
import dev.zdm.internal.backfill.BackfillListener;
import dev.zdm.internal.backfill.BackfillParticipant;
import dev.zdm.internal.backfill.BackfillRepository;
import dev.zdm.internal.backfill.ContractCheckRepository;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.FleetSettings;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockInspector;
import dev.zdm.internal.locks.ReplicationLagInspector;
import dev.zdm.migration.MigrationDefinition;

/**
 * The engine's classes built on a data source by hand, each with the collaborators the
 * auto-configuration would hand it, for the tests that run an instance without an
 * application context.
 *
 * @see DdlRunners
 */
public final class TestEngine {

	private TestEngine() {
	}

	/**
	 * Create a phase controller.
	 * @param dataSource the instance's data source
	 * @param migrations the declared migrations
	 * @param instance the instance
	 * @param settings the fleet's timing
	 * @param participants the concerns taking part, in order
	 * @return the controller, not started
	 */
	public static PhaseController phaseController(DataSource dataSource, List<MigrationDefinition> migrations,
			InstanceInfo instance, FleetSettings settings, List<MigrationParticipant> participants) {
		return new PhaseController(dataSource, new FleetRegistry(dataSource), new MigrationStateRepository(dataSource),
				new MigrationValidator(new DatabaseCatalog(dataSource)), migrations, instance, settings, participants,
				new SameTableSyncTrigger(dataSource)::keepsNewSideInSync);
	}

	/**
	 * Create a backfill participant with no listener and the default settings.
	 * @param dataSource the instance's data source
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param throttles further load checks consulted before each batch
	 * @return the participant
	 */
	public static BackfillParticipant backfillParticipant(DataSource dataSource, Duration fleetTimeout,
			List<BackfillThrottle> throttles) {
		return backfillParticipant(dataSource, fleetTimeout, throttles, null);
	}

	/**
	 * Create a backfill participant with the default settings.
	 * @param dataSource the instance's data source
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param throttles further load checks consulted before each batch
	 * @param listener the listener told what each backfill does, or {@code null}
	 * @return the participant
	 */
	public static BackfillParticipant backfillParticipant(DataSource dataSource, Duration fleetTimeout,
			List<BackfillThrottle> throttles, @Nullable BackfillListener listener) {
		return backfillParticipant(dataSource, fleetTimeout, listener, null,
				BackfillEnvironment.DEFAULT_MAX_CONCURRENT_BACKFILLS, Set.of(), throttles);
	}

	/**
	 * Create a backfill participant.
	 * @param dataSource the instance's data source
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param listener the listener told what each backfill does, or {@code null}
	 * @param applicationLatency the application's database call times, or {@code null}
	 * @param maxConcurrentBackfills how many backfills may run at once on the database
	 * @param clearOverrides the migrations whose declaration clears their live overrides
	 * @param throttles further load checks consulted before each batch
	 * @return the participant
	 */
	public static BackfillParticipant backfillParticipant(DataSource dataSource, Duration fleetTimeout,
			@Nullable BackfillListener listener, @Nullable ApplicationLatency applicationLatency,
			int maxConcurrentBackfills, Set<String> clearOverrides, List<BackfillThrottle> throttles) {
		return new BackfillParticipant(dataSource, new FleetRegistry(dataSource),
				new MigrationStateRepository(dataSource), new LockInspector(dataSource),
				new ReplicationLagInspector(dataSource), fleetTimeout, throttles, listener, applicationLatency,
				maxConcurrentBackfills, clearOverrides, null);
	}

	/**
	 * Create the final check before the contract, showing the writers' queries without
	 * their constants.
	 * @param dataSource the instance's data source
	 * @param instanceId the instance
	 * @return the check
	 */
	public static FinalContractCheck finalContractCheck(DataSource dataSource, String instanceId) {
		return new FinalContractCheck(dataSource, instanceId, new ContractCheckRepository(dataSource, false),
				new BackfillRepository(dataSource), new LockInspector(dataSource), new DatabaseCatalog(dataSource));
	}

}
