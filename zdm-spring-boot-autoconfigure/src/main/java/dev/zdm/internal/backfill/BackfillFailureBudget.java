package dev.zdm.internal.backfill;

import java.util.Arrays;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.BackfillSettings;

/**
 * How many failed batches a run of the backfill puts up with before it stops in the
 * {@code failed} state: one batch failing {@link BackfillSettings#maxBatchAttempts()}
 * times in a row, or more than {@link BackfillSettings#maxFailureShare()} of the latest
 * {@link BackfillSettings#failureWindow()} attempts failing. Before it is spent, a failed
 * batch is retried with a backoff, as a lock timeout may pass; after, only an operator's
 * resume starts the backfill again.
 */
final class BackfillFailureBudget {

	private final int maxBatchAttempts;

	private final double maxFailureShare;

	private final boolean[] window;

	private int next;

	private int filled;

	private int failed;

	private int inARow;

	private @Nullable String failingAfter;

	BackfillFailureBudget(BackfillSettings settings) {
		this.maxBatchAttempts = settings.maxBatchAttempts();
		this.maxFailureShare = settings.maxFailureShare();
		this.window = new boolean[settings.failureWindow()];
	}

	/**
	 * Count a failed attempt of the batch after a key.
	 * @param lastKey the key the batch starts after, {@code null} for the first
	 * @return why the budget is spent, or {@code null} if the batch may be retried
	 */
	@Nullable String failed(@Nullable String lastKey) {
		record(true);
		if (this.inARow > 0 && Objects.equals(this.failingAfter, lastKey)) {
			this.inARow++;
		}
		else {
			this.inARow = 1;
			this.failingAfter = lastKey;
		}
		if (this.inARow >= this.maxBatchAttempts) {
			return "the same batch failed " + this.inARow + " times in a row (max-batch-attempts "
					+ this.maxBatchAttempts + ")";
		}
		if (this.filled == this.window.length && this.failed > this.maxFailureShare * this.window.length) {
			return this.failed + " of the last " + this.window.length + " batch attempts failed (more than "
					+ "max-failure-share " + this.maxFailureShare + " of failure-window " + this.window.length + ")";
		}
		return null;
	}

	/**
	 * Start afresh, as after the backfill stopped on the spent budget.
	 */
	void reset() {
		Arrays.fill(this.window, false);
		this.next = 0;
		this.filled = 0;
		this.failed = 0;
		this.inARow = 0;
		this.failingAfter = null;
	}

	/**
	 * Count a batch that committed.
	 */
	void succeeded() {
		record(false);
		this.inARow = 0;
		this.failingAfter = null;
	}

	private void record(boolean failure) {
		if (this.filled == this.window.length) {
			if (this.window[this.next]) {
				this.failed--;
			}
		}
		else {
			this.filled++;
		}
		this.window[this.next] = failure;
		if (failure) {
			this.failed++;
		}
		this.next = (this.next + 1) % this.window.length;
	}

}
