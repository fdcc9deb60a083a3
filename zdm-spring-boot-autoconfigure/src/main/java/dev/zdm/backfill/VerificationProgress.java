package dev.zdm.backfill;

import java.time.Duration;
import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * The progress of a backfill verification in flight, checkpointed with each verification
 * batch.
 *
 * @param pass the pass number, from 1
 * @param startedAt when the verification started
 * @param upperBound the largest key the pass covers, as text: later rows are kept in sync
 * by the write path
 * @param lastKey the key of the last row checked in this pass (the checkpoint), or
 * {@code null} before the first batch
 * @param rowsChecked rows checked so far in this pass
 * @param rowsToCheck rows the pass expects to check, or {@code null} if unknown
 * @param rowsDisagreeing rows found disagreeing so far in this pass
 * @param rowsRepaired rows repaired so far, over all passes
 * @param rate rows checked per second in the current run, or {@code null}
 * @param eta estimated time left in this pass, or {@code null}
 */
public record VerificationProgress(int pass, @Nullable Instant startedAt, @Nullable String upperBound,
		@Nullable String lastKey, long rowsChecked, @Nullable Long rowsToCheck, long rowsDisagreeing, long rowsRepaired,
		@Nullable Double rate, @Nullable Duration eta) {

}
