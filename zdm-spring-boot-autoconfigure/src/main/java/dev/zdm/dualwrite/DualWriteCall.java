package dev.zdm.dualwrite;

import org.jspecify.annotations.Nullable;

import org.springframework.transaction.support.TransactionSynchronizationManager;

import dev.zdm.migration.Phase;

/**
 * The write a routing bean is making on a repository implementation, for implementations
 * that must know whether they are the source of truth or are being kept in sync. When
 * both sides are written, the old side is always written first, whatever the phase, so
 * that concurrent writers at adjacent phases lock rows in the same order; the
 * implementation written second sees what the first returned, for example a generated
 * key.
 * <p>
 * zdm's routing proxy binds the call to the thread for the length of the implementation's
 * method, as a resource of {@link TransactionSynchronizationManager} keyed by this class.
 */
public final class DualWriteCall {

	private final String migrationId;

	private final Phase phase;

	private final Schema schema;

	private final boolean sync;

	private final @Nullable Object otherSideResult;

	/**
	 * Create a description of one side of a routed write.
	 * @param migrationId the migration
	 * @param phase the effective phase the call is routed at
	 * @param schema the side the implementation writes
	 * @param sync whether it writes as the sync of the other side
	 * @param otherSideResult what the other side returned, if it was called first
	 */
	public DualWriteCall(String migrationId, Phase phase, Schema schema, boolean sync,
			@Nullable Object otherSideResult) {
		this.migrationId = migrationId;
		this.phase = phase;
		this.schema = schema;
		this.sync = sync;
		this.otherSideResult = otherSideResult;
	}

	/**
	 * Return the write being made on this thread by a routing bean, if any.
	 * @return the call, or {@code null} outside a routed write
	 */
	public static @Nullable DualWriteCall current() {
		return (DualWriteCall) TransactionSynchronizationManager.getResource(DualWriteCall.class);
	}

	/**
	 * Return the migration.
	 * @return the migration id
	 */
	public String migrationId() {
		return this.migrationId;
	}

	/**
	 * Return the effective phase, fixed for the transaction.
	 * @return the phase
	 */
	public Phase phase() {
		return this.phase;
	}

	/**
	 * Return the side being written by this call: {@link Schema#BOTH} for the one call of
	 * a write of a migration synced by the application.
	 * @return the side
	 */
	public Schema schema() {
		return this.schema;
	}

	/**
	 * Whether this call keeps the side that is not the source of truth in sync.
	 * @return {@code true} for the sync call, {@code false} for the source of truth
	 */
	public boolean isSync() {
		return this.sync;
	}

	/**
	 * Return what the other side's implementation returned, when it was written first in
	 * this write (the new side's implementation sees the old side's result).
	 * @return the result, or {@code null} if this side is written first or the other side
	 * returned nothing
	 */
	public @Nullable Object otherSideResult() {
		return this.otherSideResult;
	}

}
