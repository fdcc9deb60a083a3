package dev.zdm.internal.fleet;

import java.time.Duration;
import java.time.Instant;

import org.jspecify.annotations.Nullable;

import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * One migration as this instance runs it: the status its last heartbeat decided, and the
 * effective phase fixed for the length of each transaction.
 */
final class MigrationRuntime {

	private volatile MigrationDefinition migration;

	private volatile boolean expandChecked;

	private final Object transactionKey = new Object();

	private volatile @Nullable MigrationStatus current;

	// the heartbeat time this instance last wrote to its own row, in database time
	private volatile @Nullable Instant lastWritten;

	// this instance's row as another process under the same instance id last wrote it,
	// and when it was seen (System.nanoTime())
	private volatile @Nullable FleetMember twin;

	private volatile long twinSeenAt;

	private volatile boolean twinReported;

	MigrationRuntime(MigrationDefinition migration) {
		this.migration = migration;
	}

	MigrationDefinition migration() {
		return this.migration;
	}

	boolean expandChecked() {
		return this.expandChecked;
	}

	void expanded(MigrationDefinition validated) {
		this.migration = validated;
		this.expandChecked = true;
	}

	void requested(Phase phase) {
		this.migration = this.migration.toBuilder().requestedPhase(phase).build();
	}

	@Nullable MigrationStatus current() {
		return this.current;
	}

	void decided(MigrationStatus status) {
		this.current = status;
	}

	/**
	 * Return the heartbeat time this instance last wrote to its row.
	 */
	@Nullable Instant lastWritten() {
		return this.lastWritten;
	}

	/**
	 * Record the heartbeat time this instance wrote to its row, once committed.
	 * @param written the time, in database time
	 */
	void written(Instant written) {
		this.lastWritten = written;
	}

	/**
	 * Record this instance's row as another process under the same id wrote it.
	 * @param row the row
	 */
	void twinSeen(FleetMember row) {
		this.twin = row;
		this.twinSeenAt = System.nanoTime();
	}

	/**
	 * Forget the other process under this instance's id: its row is gone.
	 */
	void twinGone() {
		this.twin = null;
	}

	/**
	 * Return {@code true} the first time it is called: a second live instance under this
	 * instance's id is reported once.
	 */
	boolean reportTwinOnce() {
		boolean first = !this.twinReported;
		this.twinReported = true;
		return first;
	}

	/**
	 * Return this instance's row as another process under the same id last wrote it,
	 * while that was within the fleet timeout.
	 * @param timeout the fleet timeout
	 */
	@Nullable FleetMember twin(Duration timeout) {
		FleetMember seen = this.twin;
		if (seen != null && System.nanoTime() - this.twinSeenAt > timeout.toNanos()) {
			this.twin = null;
			return null;
		}
		return seen;
	}

	MigrationStatus status() {
		MigrationStatus status = this.current;
		if (status == null) {
			throw new IllegalStateException(
					"zdm has not joined the fleet for migration '" + this.migration.id() + "' yet");
		}
		return status;
	}

	/**
	 * Return the effective phase. Inside a transaction the first call decides the phase
	 * for the rest of that transaction, whatever the heartbeat decides meanwhile.
	 * @return the effective phase
	 */
	Phase effectivePhase() {
		if (!TransactionSynchronizationManager.isSynchronizationActive()) {
			return status().effective();
		}
		Phase bound = (Phase) TransactionSynchronizationManager.getResource(this.transactionKey);
		if (bound != null) {
			return bound;
		}
		Phase phase = status().effective();
		TransactionSynchronizationManager.bindResource(this.transactionKey, phase);
		TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

			@Override
			public void afterCompletion(int status) {
				TransactionSynchronizationManager.unbindResourceIfPossible(MigrationRuntime.this.transactionKey);
			}

		});
		return phase;
	}

	void failed(RuntimeException ex) {
		MigrationStatus status = this.current;
		if (status != null) {
			this.current = new MigrationStatus(status.migration(), status.instanceId(), status.effective(),
					status.heldBackReason(), status.fleet(), status.state(), status.decidedAt(),
					String.valueOf(ex.getMessage()));
		}
	}

}
