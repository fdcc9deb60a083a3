package dev.zdm.actuate.endpoint;

import java.util.List;
import java.util.function.Function;

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
import dev.zdm.internal.fleet.MigrationState;
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
	 * @param currentState reads the migration's state as the database holds it now
	 * @return the view
	 */
	MigrationDescriptor describe(MigrationStatus status, boolean reachable, @Nullable String stepHeldBack,
			Function<String, MigrationState> currentState) {
		// the DDL history first, then the state as the database holds it now: a contract
		// is claimed before its step starts, so a step shown running or done is never
		// beside contracted: false (an outside run saw them read the other way round)
		DdlStatus ddl = reachable ? this.ddlHistory.status(status.migrationId(), RECENT_LOCK_TIMEOUTS)
				: new DdlStatus(status.migrationId(), List.of(), List.of(), List.of());
		MigrationStatus current = reachable ? status.withState(currentState.apply(status.migrationId())) : status;
		TableLockFigures locks = this.lockFigures.figures(current.migrationId());
		BackfillProgress backfill = reachable ? backfill(current) : null;
		return new MigrationDescriptor(current.migration().table().toString(), current.migration().sync().value(),
				current.requested().value(), current.effective().value(), current.heldBackReason(),
				current.fleet().stream().map(FleetMemberDescriptor::of).toList(), StateDescriptor.of(current.state()),
				(locks != null) ? LocksDescriptor.of(locks) : null, backfill,
				PacingDescriptor.of((reachable && this.tuning != null) ? this.tuning.effective(current.migration())
						: current.migration().backfill(), backfill),
				(reachable && this.tuning != null && current.migration().hasBackfill())
						? this.tuning.describe(current.migration()) : null,
				ddl, (this.expandRunner != null) ? this.expandRunner.expandProgress(current.migrationId()) : null,
				(reachable && this.contractCheck != null) ? shown(this.contractCheck, current) : null, stepHeldBack,
				(this.abandonRunner != null) ? this.abandonRunner.progress(current.migrationId()) : null,
				(reachable && this.operatorActions != null)
						? this.operatorActions.recent(current.migrationId(), RECENT_OPERATOR_ACTIONS) : List.of(),
				current.decidedAt(), (reachable || current.lastHeartbeatError() != null) ? current.lastHeartbeatError()
						: "no heartbeat has reached the database since " + current.decidedAt() + "; shown from memory");
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
