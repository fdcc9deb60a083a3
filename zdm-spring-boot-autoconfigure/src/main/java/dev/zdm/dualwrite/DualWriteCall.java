package dev.zdm.dualwrite;

import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.Phase;

/**
 * The write a routing bean is making on a repository implementation, for implementations
 * that must know whether they are the source of truth or are being kept in sync. When
 * both sides are written, the old side is always written first, whatever the phase, so
 * that concurrent writers at adjacent phases lock rows in the same order; the
 * implementation written second sees what the first returned, for example a generated
 * key.
 */
public final class DualWriteCall {

	private static final ThreadLocal<@Nullable DualWriteCall> current = new ThreadLocal<>();

	private final String migrationId;

	private final Phase phase;

	private final Schema schema;

	private final boolean sync;

	private final @Nullable Object otherSideResult;

	private DualWriteCall(String migrationId, Phase phase, Schema schema, boolean sync,
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
		return current.get();
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
	 * Return the side being written by this call.
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

	/**
	 * Run an implementation's method as one side of a routed call, so that
	 * {@link #current()} describes it meanwhile. For zdm's routing proxy, not for
	 * application code.
	 * @param <T> the result type
	 * @param migrationId the migration
	 * @param phase the effective phase the call is routed at
	 * @param schema the side the implementation writes
	 * @param sync whether it writes as the sync of the other side
	 * @param otherSideResult what the other side returned, if it was called first
	 * @param action the call
	 * @return what the call returned
	 */
	public static <T> T run(String migrationId, Phase phase, Schema schema, boolean sync,
			@Nullable Object otherSideResult, Supplier<T> action) {
		DualWriteCall previous = current.get();
		current.set(new DualWriteCall(migrationId, phase, schema, sync, otherSideResult));
		try {
			return action.get();
		}
		finally {
			if (previous != null) {
				current.set(previous);
			}
			else {
				current.remove();
			}
		}
	}

}
