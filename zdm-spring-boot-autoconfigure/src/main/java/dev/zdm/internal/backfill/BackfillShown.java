package dev.zdm.internal.backfill;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.internal.fleet.MigrationStatus;

/**
 * A migration's backfill as operators read it, the same for the endpoint and the meters:
 * as stored, unless its runner is gone ({@link BackfillRunnerGone}) or its verification
 * was voided since, when it shows as {@code pending} with the reason.
 */
public final class BackfillShown {

	private BackfillShown() {
	}

	/**
	 * Return a migration's backfill as shown.
	 * @param status the migration as this instance saw it at its last heartbeat
	 * @param stored the backfill's stored progress, or {@code null}
	 * @return the progress as shown, or {@code null} if none is stored
	 */
	public static @Nullable BackfillProgress of(MigrationStatus status, @Nullable BackfillProgress stored) {
		if (stored == null) {
			return null;
		}
		BackfillRunnerGone gone = BackfillRunnerGone.of(status, stored);
		if (gone != null) {
			return gone.shown(stored);
		}
		// a verification voided since: the record says verified until a runner takes
		// the backfill up again, which it does once the fleet allows
		String voided = status.state().voidedVerification();
		if (stored.state() != BackfillState.VERIFIED || voided == null) {
			return stored;
		}
		return stored.withState(BackfillState.PENDING, "verification voided: " + voided
				+ "; the backfill runs again, rewriting only rows that disagree, and verifies again");
	}

}
