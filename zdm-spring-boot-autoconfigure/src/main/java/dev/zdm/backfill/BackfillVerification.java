package dev.zdm.backfill;

import java.time.Instant;

/**
 * The result of one verification of a backfill: every row checked for old and new
 * disagreeing through {@code up}, disagreeing rows repaired, and checked again.
 *
 * @param migrationId the migration
 * @param runner the instance that verified
 * @param startedAt when the verification started
 * @param finishedAt when it finished
 * @param passes how many passes over the table it made
 * @param rowsChecked rows checked in the last pass
 * @param rowsRepaired rows repaired over all passes
 * @param rowsDisagreeing rows that still disagreed in the last pass
 * @param succeeded whether the last pass found every row agreeing and the fleet still
 * allowed it
 * @param fleet the live fleet the result holds for, as recorded
 */
public record BackfillVerification(String migrationId, String runner, Instant startedAt, Instant finishedAt, int passes,
		long rowsChecked, long rowsRepaired, long rowsDisagreeing, boolean succeeded, String fleet) {

}
