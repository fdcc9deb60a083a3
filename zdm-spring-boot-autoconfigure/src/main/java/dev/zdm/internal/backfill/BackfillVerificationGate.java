package dev.zdm.internal.backfill;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.internal.backfill.BackfillRunner.Outcome;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * Records how a verification ended, which is what {@code read-new} waits for: verified
 * for the live fleet only if every row agreed and the fleet still allows the backfill,
 * decided under the lock the phase controller decides under; otherwise failed, with the
 * reason, and an earlier verification voided if this instance may repair.
 */
public final class BackfillVerificationGate {

	private static final Log logger = LogFactory.getLog(BackfillVerificationGate.class);

	private final MigrationDefinition migration;

	private final String instanceId;

	private final boolean repair;

	private final BackfillEnvironment environment;

	private final BackfillStopSignal signal;

	private final TransactionTemplate transactionTemplate;

	BackfillVerificationGate(MigrationDefinition migration, String instanceId, boolean repair,
			BackfillEnvironment environment, BackfillStopSignal signal) {
		this.migration = migration;
		this.instanceId = instanceId;
		this.repair = repair;
		this.environment = environment;
		this.signal = signal;
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(environment.dataSource()));
	}

	/**
	 * Record a verification whose last pass is done.
	 * @param repository the run's repository
	 * @param walk the last pass
	 * @param startedAt when the verification started
	 * @return how the run ends
	 */
	Outcome record(BackfillRepository repository, BackfillWalk walk, Instant startedAt) {
		String id = this.migration.id();
		boolean rowsAgree = walk.disagreeing() == 0;
		FleetCheck fleet = recordIfFleetAllows(walk, startedAt);
		boolean succeeded = rowsAgree && fleet.allowed();
		repository.finishVerifying(id);
		this.environment.listener().verificationFinished(this.migration, walk.pass(), succeeded);
		if (succeeded) {
			repository.setState(id, BackfillState.VERIFIED, null);
			logger.info("zdm: migration '" + id + "': backfill verified for fleet " + fleet.description());
			return Outcome.VERIFIED;
		}
		String reason = rowsAgree ? "the fleet no longer allowed the backfill while verifying: " + fleet.description()
				: this.repair
						? walk.disagreeing() + " rows still disagreed after " + walk.pass() + " passes: "
								+ "something writes them on one side only as fast as each pass repairs them, such as a "
								+ "writer outside the application where nothing in the database syncs its writes (a "
								+ "cross-table migration, sync: application) or, with two migrations on one table, an "
								+ "insert or delete that went through one migration's repository only"
						: walk.disagreeing() + " rows disagreed, not repaired: this instance reads the new side, "
								+ "which is now the source of truth, so they were written on one side only by a "
								+ "writer outside the application; the final check before the contract lists their "
								+ "keys and the sessions seen writing, and holds the contract until an operator acts";
		if (this.repair) {
			this.environment.states().failReverification(id, reason);
		}
		repository.setState(id, BackfillState.FAILED, reason);
		repository.recordError(id, 1, "verification failed: " + reason);
		logger.warn("zdm: migration '" + id + "': backfill verification failed: " + reason);
		return Outcome.VERIFICATION_FAILED;
	}

	/**
	 * Store the verification's record and, if every row agreed, mark it as holding for
	 * the live fleet, under the fleet's lock, if the fleet still allows the backfill:
	 * every live instance at least at dual-write, this one at backfill or later, and no
	 * heartbeat during the verification having found otherwise.
	 */
	private FleetCheck recordIfFleetAllows(BackfillWalk walk, Instant startedAt) {
		String id = this.migration.id();
		boolean rowsAgree = walk.disagreeing() == 0;
		return Objects.requireNonNull(this.transactionTemplate.execute((transaction) -> {
			List<FleetMember> live = this.environment.fleet().lockLiveMembers(id, this.environment.fleetTimeout());
			String description = live.stream()
				.map((member) -> member.instanceId() + " at " + member.effectivePhase()
						+ ((member.applicationVersion() != null) ? " (version " + member.applicationVersion() + ")"
								: ""))
				.collect(Collectors.joining(", "));
			boolean allowed = !this.signal.isEligibilityLost()
					&& live.stream().allMatch((member) -> member.effectivePhase().isAtLeast(Phase.DUAL_WRITE))
					&& live.stream()
						.anyMatch((member) -> member.instanceId().equals(this.instanceId)
								&& member.effectivePhase().isAtLeast(Phase.BACKFILL));
			// The verification's record and the mark read-new waits for are written in
			// one
			// transaction: a reader never sees the migration verified without its record.
			new BackfillRepository(this.environment.dataSource(), this.environment.states().tables())
				.insertVerification(new BackfillVerification(id, this.instanceId, startedAt, Instant.now(), walk.pass(),
						walk.rows(), walk.changed(), walk.disagreeing(), allowed && rowsAgree, description));
			if (allowed && rowsAgree) {
				this.environment.states().markVerified(id, description);
			}
			return new FleetCheck(allowed, description);
		}));
	}

	private record FleetCheck(boolean allowed, String description) {

	}

}
