package dev.zdm.internal.backfill;

import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * The latest final check of a migration before its contract DDL: whether old and new
 * agreed with every live instance at {@code contract}, and if not, the contract is held
 * back until an operator asks for a re-check or overrides it.
 *
 * @param migrationId the migration
 * @param held whether the check found disagreeing rows, so that the contract waits
 * @param checkedAt when the check finished
 * @param checkedBy the instance that ran it
 * @param rowsChecked keys checked, on either side
 * @param rowsDisagreeing keys whose two sides disagreed (different, missing or extra)
 * @param rows a bounded sample of those keys, each with how it disagreed
 * @param writers sessions seen writing the migration's tables when the check ended,
 * queries with their constants replaced
 * @param reason why the contract is held back, or {@code null} if it is not
 * @param recheckRequested whether an operator asked for a re-check that has not run yet
 * @param overrideReason the reason of an operator's override, if the contract may run
 * over this check
 */
public record ContractCheck(String migrationId, boolean held, Instant checkedAt, String checkedBy, long rowsChecked,
		long rowsDisagreeing, List<String> rows, List<String> writers, @Nullable String reason,
		boolean recheckRequested, @Nullable String overrideReason) {

	/**
	 * Return this check as an operator reads it: {@code held} only while it holds the
	 * contract back, not once an operator overrode it or the contract has run; then its
	 * {@code reason} (which says how to release the contract) is gone too, and the rest
	 * (what it found, the override's reason) is kept as the record of it.
	 * @param contracted whether the migration is contracted
	 * @return the check as shown
	 */
	public ContractCheck shown(boolean contracted) {
		boolean holding = this.held && this.overrideReason == null && !contracted;
		if (holding == this.held) {
			return this;
		}
		return new ContractCheck(this.migrationId, false, this.checkedAt, this.checkedBy, this.rowsChecked,
				this.rowsDisagreeing, this.rows, this.writers, null, this.recheckRequested, this.overrideReason);
	}

}
