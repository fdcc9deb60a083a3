package dev.zdm.backfill;

import java.time.Duration;
import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * A migration's backfill progress as stored for the whole fleet.
 *
 * @param migrationId the migration
 * @param state where the backfill stands
 * @param paused whether it is paused
 * @param runner the instance running it, or that ran it last
 * @param rowsDone rows walked so far (checked, and updated where they disagreed)
 * @param rowsUpdated rows actually rewritten so far
 * @param rowsEstimated rows the backfill expects to walk, or {@code null} before it
 * starts
 * @param rate rows the copy walked per second in its current or last run, or
 * {@code null}; a verification's rate is in {@link #verifying()}
 * @param eta estimated time the copy still needs, or {@code null} if unknown or once it
 * has copied every row; a verification pass's ETA is in {@link #verifying()}
 * @param batchSize current batch size, or {@code null}
 * @param batches batches committed so far
 * @param lastKey the key of the last row walked (the checkpoint), as text, or
 * {@code null}
 * @param upperBound the largest key when the backfill started, as text, or {@code null}
 * @param resumedFrom the checkpoint the current or last run started from, or {@code null}
 * @param throttleReason why it is holding back, or {@code null}
 * @param errors how many batches or runs failed
 * @param lastError the last failure, or {@code null}; cleared once the backfill is
 * verified ({@code errors} keeps the count)
 * @param lastErrorAt when the last failure happened, or {@code null} if there is none
 * @param startedAt when the backfill started, or {@code null}
 * @param copiedAt when the last batch committed, or {@code null}
 * @param updatedAt when this progress was last written
 * @param verification the latest verification, or {@code null}
 * @param verifying the verification in flight, or {@code null} if none is
 */
public record BackfillProgress(String migrationId, BackfillState state, boolean paused, @Nullable String runner,
		long rowsDone, long rowsUpdated, @Nullable Long rowsEstimated, @Nullable Double rate, @Nullable Duration eta,
		@Nullable Integer batchSize, long batches, @Nullable String lastKey, @Nullable String upperBound,
		@Nullable String resumedFrom, @Nullable String throttleReason, long errors, @Nullable String lastError,
		@Nullable Instant lastErrorAt, @Nullable Instant startedAt, @Nullable Instant copiedAt, Instant updatedAt,
		@Nullable BackfillVerification verification, @Nullable VerificationProgress verifying) {

	/**
	 * Return this progress in another state, holding back for a reason.
	 * @param state the state
	 * @param throttleReason why it holds back, or {@code null}
	 * @return the progress in that state
	 */
	public BackfillProgress withState(BackfillState state, @Nullable String throttleReason) {
		return new BackfillProgress(this.migrationId, state, this.paused, this.runner, this.rowsDone, this.rowsUpdated,
				this.rowsEstimated, this.rate, this.eta, this.batchSize, this.batches, this.lastKey, this.upperBound,
				this.resumedFrom, throttleReason, this.errors, this.lastError, this.lastErrorAt, this.startedAt,
				this.copiedAt, this.updatedAt, this.verification, this.verifying);
	}

	/**
	 * Return this progress with another latest verification.
	 * @param verification the verification, or {@code null}
	 * @return the progress with that verification
	 */
	public BackfillProgress withVerification(@Nullable BackfillVerification verification) {
		return new BackfillProgress(this.migrationId, this.state, this.paused, this.runner, this.rowsDone,
				this.rowsUpdated, this.rowsEstimated, this.rate, this.eta, this.batchSize, this.batches, this.lastKey,
				this.upperBound, this.resumedFrom, this.throttleReason, this.errors, this.lastError, this.lastErrorAt,
				this.startedAt, this.copiedAt, this.updatedAt, verification, this.verifying);
	}

}
