package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.List;

import dev.zdm.backfill.ThrottleReason;
import dev.zdm.migration.MigrationDefinition;

/**
 * Told what a backfill does, batch by batch, so that it can be measured and traced. Every
 * method does nothing by default; the runner calls them on its own thread and they must
 * return quickly.
 */
public interface BackfillListener {

	/**
	 * A listener that does nothing.
	 */
	BackfillListener NONE = new BackfillListener() {
	};

	/**
	 * A batch is about to run in a transaction of its own.
	 * @param migration the migration
	 * @param kind whether the batch copies or verifies rows
	 * @param batchSize the most rows the batch walks
	 * @return the batch, to be told how it ended
	 */
	default Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
		return Batch.NONE;
	}

	/**
	 * A verification pass over every row is about to start.
	 * @param migration the migration
	 * @param pass the pass, from 1
	 * @return the pass, to be told how it ended
	 */
	default Pass verificationPassStarting(MigrationDefinition migration, int pass) {
		return Pass.NONE;
	}

	/**
	 * The backfill starts holding back, or holds back for another reason than before.
	 * @param migration the migration
	 * @param reason why
	 */
	default void holdsBack(MigrationDefinition migration, ThrottleReason reason) {
	}

	/**
	 * The backfill held back for a while.
	 * @param migration the migration
	 * @param reason why
	 * @param duration for how long, since the last call
	 */
	default void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
	}

	/**
	 * The copy's next batch is paced: its size and the pause before it are decided, from
	 * the settings as declared or as an operator overrode them live.
	 * @param migration the migration
	 * @param batchSize the most rows the next batch walks
	 * @param pause the pause before it
	 */
	default void paced(MigrationDefinition migration, int batchSize, Duration pause) {
	}

	/**
	 * A run of the backfill failed; it is retried later.
	 * @param migration the migration
	 * @param failure what failed
	 */
	default void runFailed(MigrationDefinition migration, Throwable failure) {
	}

	/**
	 * A verification ended and its result is recorded.
	 * @param migration the migration
	 * @param passes the passes it took
	 * @param succeeded whether every row agreed and the fleet allowed it
	 */
	default void verificationFinished(MigrationDefinition migration, int passes, boolean succeeded) {
	}

	/**
	 * Return a listener that tells each of the given ones, in order.
	 * @param listeners the listeners
	 * @return one listener for all of them
	 */
	static BackfillListener of(List<? extends BackfillListener> listeners) {
		return switch (listeners.size()) {
			case 0 -> NONE;
			case 1 -> listeners.get(0);
			default -> new CompositeBackfillListener(listeners);
		};
	}

	/**
	 * Whether a batch copies rows or verifies them.
	 */
	enum BatchKind {

		/** Copies old columns to new ones. */
		COPY,

		/** Checks, and repairs, that old and new columns agree. */
		VERIFY;

		/**
		 * Return the kind as a tag value.
		 * @return {@code copy} or {@code verify}
		 */
		public String value() {
			return name().toLowerCase();
		}

	}

	/**
	 * One batch, told how it ended: exactly one of its methods is called.
	 */
	interface Batch {

		/**
		 * A batch that ignores how it ended.
		 */
		Batch NONE = new Batch() {
		};

		/**
		 * The copy batch committed.
		 * @param rows rows walked
		 * @param updated rows rewritten
		 */
		default void copied(long rows, long updated) {
		}

		/**
		 * The verification batch committed.
		 * @param rows rows checked
		 * @param disagreeing rows whose new columns disagreed with the old ones
		 * @param repaired rows rewritten to agree
		 */
		default void verified(long rows, long disagreeing, long repaired) {
		}

		/**
		 * The batch failed and was rolled back.
		 * @param failure what failed
		 * @param retried whether the batch is retried, smaller; if not, the run ends
		 */
		default void failed(Throwable failure, boolean retried) {
		}

	}

	/**
	 * One verification pass, told how it ended: exactly one of its methods is called.
	 */
	interface Pass {

		/**
		 * A pass that ignores how it ended.
		 */
		Pass NONE = new Pass() {
		};

		/**
		 * The pass walked every row.
		 * @param checked rows checked
		 * @param disagreeing rows that disagreed
		 * @param repaired rows repaired
		 */
		default void finished(long checked, long disagreeing, long repaired) {
		}

		/**
		 * The pass stopped before its end, as the backfill was paused or stopped.
		 */
		default void stopped() {
		}

	}

}
