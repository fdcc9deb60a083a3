package dev.zdm.actuate.endpoint;

import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.actuate.endpoint.MigrationDescriptor.FleetMemberDescriptor;
import dev.zdm.actuate.endpoint.MigrationDescriptor.LocksDescriptor;
import dev.zdm.actuate.endpoint.MigrationDescriptor.PacingDescriptor;
import dev.zdm.actuate.endpoint.MigrationDescriptor.StateDescriptor;
import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.backfill.BackfillShown;
import dev.zdm.internal.backfill.ContractCheck;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlStatus;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.internal.locks.TableLockFigures;

/**
 * Renders one migration's view of the {@link ZdmEndpoint endpoint}: its phases, fleet and
 * state, its table's lock figures, its backfill's progress, pacing and tuning, its DDL
 * history, where its expand, final contract check and abandon stand, and the operators'
 * recent actions.
 */
final class MigrationDescriber {

	private static final int RECENT_LOCK_TIMEOUTS = 10;

	private static final int RECENT_OPERATOR_ACTIONS = 10;

	private final LockFiguresSampler lockFigures;

	private final BackfillService backfill;

	private final DdlHistoryRepository ddlHistory;

	private final @Nullable ExpandRunner expandRunner;

	private final @Nullable FinalContractCheck contractCheck;

	private final @Nullable AbandonRunner abandonRunner;

	private final @Nullable BackfillTuning tuning;

	private final @Nullable OperatorActionRepository operatorActions;

	MigrationDescriber(LockFiguresSampler lockFigures, BackfillService backfill, DdlHistoryRepository ddlHistory,
			@Nullable ExpandRunner expandRunner, @Nullable FinalContractCheck contractCheck,
			@Nullable AbandonRunner abandonRunner, @Nullable BackfillTuning tuning,
			@Nullable OperatorActionRepository operatorActions) {
		this.lockFigures = lockFigures;
		this.backfill = backfill;
		this.ddlHistory = ddlHistory;
		this.expandRunner = expandRunner;
		this.contractCheck = contractCheck;
		this.abandonRunner = abandonRunner;
		this.tuning = tuning;
		this.operatorActions = operatorActions;
	}

	static @Nullable ContractCheck shown(FinalContractCheck check, MigrationStatus status) {
		ContractCheck stored = check.repository().find(status.migrationId());
		return (stored != null) ? stored.shown(status.state().isContracted()) : null;
	}

	/**
	 * A migration's backfill as the endpoint shows it: as stored, unless its runner is
	 * gone or its verification voided since.
	 * @param status the migration's status after the last heartbeat
	 * @return the backfill, or {@code null} if none has started
	 */
	@Nullable BackfillProgress backfill(MigrationStatus status) {
		return BackfillShown.of(status, this.backfill.progress(status.migrationId()));
	}

	/**
	 * Describe a migration.
	 * @param status its status after the last heartbeat
	 * @param reachable whether the instance's heartbeats reach the database; when they do
	 * not, the view is what this instance knows without it: the phases, fleet and state
	 * of the last heartbeat that reached it, the lock figures last sampled, the expand
	 * and abandon as they stand here, and why (reading the rest would hold the request
	 * for the pool's connection timeout, then fail it)
	 * @param stepHeldBack why a step its phase lets run is held back on this instance, or
	 * {@code null}
	 * @return the view
	 */
	MigrationDescriptor describe(MigrationStatus status, boolean reachable, @Nullable String stepHeldBack) {
		TableLockFigures locks = this.lockFigures.figures(status.migrationId());
		BackfillProgress backfill = reachable ? backfill(status) : null;
		return new MigrationDescriptor(status.migration().table().toString(), status.migration().sync().value(),
				status.requested().value(), status.effective().value(), status.heldBackReason(),
				status.fleet().stream().map(FleetMemberDescriptor::of).toList(), StateDescriptor.of(status.state()),
				(locks != null) ? LocksDescriptor.of(locks) : null, backfill,
				PacingDescriptor.of((reachable && this.tuning != null) ? this.tuning.effective(status.migration())
						: status.migration().backfill(), backfill),
				(reachable && this.tuning != null && status.migration().hasBackfill())
						? this.tuning.describe(status.migration()) : null,
				reachable ? this.ddlHistory.status(status.migrationId(), RECENT_LOCK_TIMEOUTS)
						: new DdlStatus(status.migrationId(), List.of(), List.of(), List.of()),
				(this.expandRunner != null) ? this.expandRunner.expandProgress(status.migrationId()) : null,
				(reachable && this.contractCheck != null) ? shown(this.contractCheck, status) : null, stepHeldBack,
				(this.abandonRunner != null) ? this.abandonRunner.progress(status.migrationId()) : null,
				(reachable && this.operatorActions != null)
						? this.operatorActions.recent(status.migrationId(), RECENT_OPERATOR_ACTIONS) : List.of(),
				status.decidedAt(), (reachable || status.lastHeartbeatError() != null) ? status.lastHeartbeatError()
						: "no heartbeat has reached the database since " + status.decidedAt() + "; shown from memory");
	}

	/**
	 * Whether this instance's heartbeats reach the database
	 * ({@link PhaseController#heartbeatsReachTheDatabase()}, which the heartbeat gauge
	 * and the health read too). When they do not, the endpoint describes the migrations
	 * from what the instance knows, rather than wait for the pool's connection timeout
	 * for each read.
	 */
	static boolean reachable(PhaseController controller) {
		return controller.heartbeatsReachTheDatabase();
	}

}
