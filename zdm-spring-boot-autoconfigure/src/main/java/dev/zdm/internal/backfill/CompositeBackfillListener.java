package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.List;

import dev.zdm.backfill.ThrottleReason;
import dev.zdm.migration.MigrationDefinition;

/**
 * A {@link BackfillListener} that tells several others.
 */
public final class CompositeBackfillListener implements BackfillListener {

	private final List<BackfillListener> listeners;

	CompositeBackfillListener(List<? extends BackfillListener> listeners) {
		this.listeners = List.copyOf(listeners);
	}

	@Override
	public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
		List<Batch> batches = this.listeners.stream()
			.map((listener) -> listener.batchStarting(migration, kind, batchSize))
			.toList();
		return new Batch() {

			@Override
			public void copied(long rows, long updated) {
				batches.forEach((batch) -> batch.copied(rows, updated));
			}

			@Override
			public void verified(long rows, long disagreeing, long repaired) {
				batches.forEach((batch) -> batch.verified(rows, disagreeing, repaired));
			}

			@Override
			public void failed(Throwable failure, boolean retried) {
				batches.forEach((batch) -> batch.failed(failure, retried));
			}

		};
	}

	@Override
	public Pass verificationPassStarting(MigrationDefinition migration, int pass) {
		List<Pass> passes = this.listeners.stream()
			.map((listener) -> listener.verificationPassStarting(migration, pass))
			.toList();
		return new Pass() {

			@Override
			public void finished(long checked, long disagreeing, long repaired) {
				passes.forEach((each) -> each.finished(checked, disagreeing, repaired));
			}

			@Override
			public void stopped() {
				passes.forEach(Pass::stopped);
			}

		};
	}

	@Override
	public void holdsBack(MigrationDefinition migration, ThrottleReason reason) {
		this.listeners.forEach((listener) -> listener.holdsBack(migration, reason));
	}

	@Override
	public void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
		this.listeners.forEach((listener) -> listener.heldBack(migration, reason, duration));
	}

	@Override
	public void paced(MigrationDefinition migration, int batchSize, Duration pause) {
		this.listeners.forEach((listener) -> listener.paced(migration, batchSize, pause));
	}

	@Override
	public void runFailed(MigrationDefinition migration, Throwable failure) {
		this.listeners.forEach((listener) -> listener.runFailed(migration, failure));
	}

	@Override
	public void verificationFinished(MigrationDefinition migration, int passes, boolean succeeded) {
		this.listeners.forEach((listener) -> listener.verificationFinished(migration, passes, succeeded));
	}

}
