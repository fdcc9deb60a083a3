package dev.zdm.internal.backfill;

import java.util.Optional;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.VerificationProgress;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.migration.Phase;

/**
 * Tells when the backfill's record says it runs but its runner's instance has left the
 * fleet (a {@code kill -9}, a lost host), or is back under the same id at a phase that
 * runs no backfill: the record keeps the state the runner last wrote until another
 * instance takes the backfill over, and none may be able to.
 *
 * @param description what happened and what happens next
 * @param stalled whether no live instance runs a phase that runs the backfill, so that it
 * waits for a deploy
 */
public record BackfillRunnerGone(String description, boolean stalled) {

	/**
	 * Tell whether the backfill's runner is gone, and who takes the backfill over.
	 * @param status the migration as this instance saw it at its last heartbeat
	 * @param progress the backfill's progress, or {@code null}
	 * @return what happened and what happens next, or {@code null} if the backfill is not
	 * running or its runner's instance is live
	 */
	public static @Nullable BackfillRunnerGone of(MigrationStatus status, @Nullable BackfillProgress progress) {
		if (progress == null || progress.runner() == null || !isRunning(progress.state())
				|| status.state().isContracted()) {
			return null;
		}
		String runner = progress.runner();
		Optional<FleetMember> member = status.fleet()
			.stream()
			.filter((candidate) -> candidate.instanceId().equals(runner))
			.findFirst();
		boolean live = member.map(FleetMember::live).orElse(false);
		if (live && runsTheBackfill(member.get())) {
			return null;
		}
		// a live runner's id at a phase that runs no backfill: the process that ran it
		// ended without stopping it (a kill -9) and its id came back at an earlier phase
		String gone = live
				? "runner " + runner + " runs " + member.get().effectivePhase() + " now, which runs no backfill (the "
						+ "process under that id that ran it ended without stopping it, and the id came back at an "
						+ "earlier phase); "
				: "runner " + runner + " is gone (" + member.map((left) -> "no heartbeat since " + left.heartbeatAt())
					.orElse("no longer in the fleet") + ", over zdm.fleet.timeout); ";
		Optional<FleetMember> successor = status.liveMembers()
			.stream()
			.filter(BackfillRunnerGone::runsTheBackfill)
			.findFirst();
		return successor
			.map((next) -> new BackfillRunnerGone(gone + "instance " + next.instanceId() + " (at "
					+ next.effectivePhase() + ") takes the backfill over from its checkpoint", false))
			.orElse(new BackfillRunnerGone(gone + "no live instance runs backfill or a later phase to take it "
					+ "over: it resumes from its checkpoint once one does", true));
	}

	/**
	 * Return the progress as an operator reads it while the runner is gone: waiting for
	 * an instance to take it over ({@code pending}), holding back for this reason, rather
	 * than in the state the gone runner last wrote; as a walk held back is stored, with
	 * no rate and no time left (nothing walks rows meanwhile), but the copy's rate once
	 * the copy is done.
	 * @param progress the stored progress
	 * @return the progress as shown
	 */
	public BackfillProgress shown(BackfillProgress progress) {
		VerificationProgress verifying = progress.verifying();
		return new BackfillProgress(progress.migrationId(), BackfillState.PENDING, progress.paused(), progress.runner(),
				progress.rowsDone(), progress.rowsUpdated(), progress.rowsEstimated(),
				(progress.copiedAt() != null) ? progress.rate() : null, null, progress.batchSize(), progress.batches(),
				progress.lastKey(), progress.upperBound(), progress.resumedFrom(), this.description, progress.errors(),
				progress.lastError(), progress.lastErrorAt(), progress.startedAt(), progress.copiedAt(),
				progress.updatedAt(), progress.verification(),
				(verifying != null) ? new VerificationProgress(verifying.pass(), verifying.startedAt(),
						verifying.upperBound(), verifying.lastKey(), verifying.rowsChecked(), verifying.rowsToCheck(),
						verifying.rowsDisagreeing(), verifying.rowsRepaired(), null, null) : null);
	}

	private static boolean runsTheBackfill(FleetMember member) {
		return member.effectivePhase().isAtLeast(Phase.BACKFILL) && member.effectivePhase() != Phase.ABANDON;
	}

	private static boolean isRunning(BackfillState state) {
		return state == BackfillState.RUNNING || state == BackfillState.THROTTLED || state == BackfillState.VERIFYING;
	}

}
