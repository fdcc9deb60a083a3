package dev.zdm.actuate.endpoint;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.util.unit.DataSize;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.backfill.BackfillHoldBack;
import dev.zdm.internal.backfill.BackfillOverrides;
import dev.zdm.internal.backfill.ContractCheck;
import dev.zdm.internal.ddl.AbandonProgress;
import dev.zdm.internal.ddl.DdlStatus;
import dev.zdm.internal.ddl.ExpandProgress;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.locks.BlockingSession;
import dev.zdm.internal.locks.TableLockFigures;
import dev.zdm.migration.BackfillSettings;

/**
 * What the {@link ZdmEndpoint} shows of one migration, with the descriptors of its parts.
 *
 * @param table the table it changes
 * @param sync how the side that is not the source of truth is kept in sync:
 * {@code trigger}, {@code application} or {@code repositories}
 * @param requestedPhase the phase this instance requests
 * @param effectivePhase the phase this instance runs at
 * @param heldBackReason why they differ, if they do
 * @param fleet every registered instance, live or not
 * @param state what the fleet knows of the migration's data
 * @param locks the table's lock figures at the last heartbeat
 * @param backfill the backfill's progress and last verification, if it has started
 * @param pacing the backfill's budget and what holds it back now
 * @param tuning the backfill's settings as declared and as an operator overrode them
 * live, and who did it
 * @param ddl the expand and contract steps, their statements and their recent lock
 * timeouts
 * @param expand where the expand DDL stands on this instance (pending, waiting for a lock
 * or for another instance, stalled, done), if this instance has looked at it
 * @param contractCheck the final check before the contract, once it has run
 * @param stepHeldBack why a step the phase lets run is held back on this instance: the
 * contract DDL, with every instance at {@code contract}, while a column its scripts drop
 * has a view, a generated column or another table's foreign key depending on it; or
 * {@code null}
 * @param abandon where the abandon stands (waiting for which instances, dropping, done),
 * if this instance abandons the migration
 * @param actions the most recent operator actions through the endpoint, most recent first
 * @param decidedAt when the effective phase was last decided
 * @param lastHeartbeatError the last heartbeat's failure, if it failed
 */
public record MigrationDescriptor(String table, String sync, String requestedPhase, String effectivePhase,
		@Nullable String heldBackReason, List<FleetMemberDescriptor> fleet, StateDescriptor state,
		@Nullable LocksDescriptor locks, @Nullable BackfillProgress backfill, PacingDescriptor pacing,
		BackfillTuning.@Nullable TuningDescriptor tuning, DdlStatus ddl, @Nullable ExpandProgress expand,
		@Nullable ContractCheck contractCheck, @Nullable String stepHeldBack, @Nullable AbandonProgress abandon,
		List<OperatorAction> actions, Instant decidedAt,
		@Nullable String lastHeartbeatError) implements OperationResponseBody {

	/**
	 * A backfill's budget, as configured, and what holds it back now.
	 *
	 * @param maxLatencyIncrease how much slower the workload's database calls may get
	 * while the copy runs than while it pauses, such as {@code 20%}, or {@code null} if
	 * the copy is not paced by them
	 * @param maxRowsPerSecond the copy's rows per second ceiling, or {@code null} for
	 * none
	 * @param heldBackBy what holds the backfill back now and by how much, or {@code null}
	 * if nothing does; its runner having gone, when the instance that ran it has left the
	 * fleet, and who takes it over; its verification having been voided
	 * @param queued whether the backfill waits in the fleet's queue for a slot
	 * @param maxWalArchiveBacklog the WAL segments waiting for the archiver above which
	 * the backfill holds back, or {@code null} if it does not hold back for them
	 * @param maxWalRate the WAL the database may write per second before the backfill
	 * holds back, such as {@code 64MB/s}, or {@code null} for no ceiling
	 */
	public record PacingDescriptor(@Nullable String maxLatencyIncrease, @Nullable Long maxRowsPerSecond,
			@Nullable String heldBackBy, boolean queued, @Nullable Long maxWalArchiveBacklog,
			@Nullable String maxWalRate) {

		static PacingDescriptor of(BackfillSettings settings, @Nullable BackfillProgress progress) {
			double increase = settings.maxLatencyIncrease();
			String budget = Double.isFinite(increase) ? BackfillOverrides.formatLatencyIncrease(increase) : null;
			Long ceiling = (settings.maxRowsPerSecond() > 0) ? settings.maxRowsPerSecond() : null;
			String reason = (progress != null && (progress.state() == BackfillState.RUNNING
					|| progress.state() == BackfillState.THROTTLED || progress.state() == BackfillState.PENDING))
							? progress.throttleReason() : null;
			boolean queued = reason != null && progress.state() == BackfillState.THROTTLED
					&& reason.startsWith(BackfillHoldBack.QUEUED);
			Long backlog = (settings.maxWalArchiveBacklog() > 0) ? settings.maxWalArchiveBacklog() : null;
			String walRate = (settings.maxWalRate() > 0) ? perSecond(settings.maxWalRate()) : null;
			return new PacingDescriptor(budget, ceiling, reason, queued, backlog, walRate);
		}

		private static String perSecond(long bytes) {
			return BackfillOverrides.format(DataSize.ofBytes(bytes)) + "/s";
		}

	}

	/**
	 * One instance of the fleet.
	 *
	 * @param instanceId its id
	 * @param requestedPhase the phase it requests
	 * @param effectivePhase the phase it runs at
	 * @param heldBackReason why they differ, if they do
	 * @param version its application version
	 * @param host its host
	 * @param pid its process id
	 * @param startedAt when it joined
	 * @param lastHeartbeat its last heartbeat
	 * @param live whether it still counts as live
	 */
	public record FleetMemberDescriptor(String instanceId, String requestedPhase, String effectivePhase,
			@Nullable String heldBackReason, @Nullable String version, @Nullable String host, long pid,
			Instant startedAt, Instant lastHeartbeat, boolean live) {

		static FleetMemberDescriptor of(FleetMember member) {
			return new FleetMemberDescriptor(member.instanceId(), member.requestedPhase().value(),
					member.effectivePhase().value(), member.heldBackReason(), member.applicationVersion(),
					member.host(), member.pid(), member.startedAt(), member.heartbeatAt(), member.live());
		}

	}

	/**
	 * What the fleet knows of a migration's data.
	 *
	 * @param verified whether the backfill is verified
	 * @param verifiedAt when it was verified
	 * @param verifiedFleet the fleet the verification holds for
	 * @param verificationVoidReason why an earlier verification was voided
	 * @param contracted whether the contract DDL has run
	 * @param contractedAt when it ran
	 * @param contractedBy which instance ran it
	 */
	public record StateDescriptor(boolean verified, @Nullable Instant verifiedAt, @Nullable String verifiedFleet,
			@Nullable String verificationVoidReason, boolean contracted, @Nullable Instant contractedAt,
			@Nullable String contractedBy) {

		static StateDescriptor of(MigrationState state) {
			return new StateDescriptor(state.isVerified(), state.verifiedAt(), state.verifiedFleet(),
					state.verificationVoidReason(), state.isContracted(), state.contractedAt(), state.contractedBy());
		}

	}

	/**
	 * Lock figures of a migration's table.
	 *
	 * @param waitingSessions sessions waiting for a lock on the table
	 * @param longestWait the longest of those waits
	 * @param blockers the sessions they wait for, with their queries
	 * @param oldestTransactionAge the age of the oldest open transaction in the database
	 * @param oldestTransactionPid its backend
	 */
	public record LocksDescriptor(int waitingSessions, Duration longestWait, List<String> blockers,
			@Nullable Duration oldestTransactionAge, @Nullable Integer oldestTransactionPid) {

		static LocksDescriptor of(TableLockFigures figures) {
			return new LocksDescriptor(figures.waitingSessions(), figures.longestWait(),
					figures.blockers().stream().map(BlockingSession::describe).toList(), figures.oldestTransactionAge(),
					figures.oldestTransactionPid());
		}

	}

}
