package dev.zdm.internal.dualwrite;

import java.time.Duration;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.dualwrite.Schema;

/**
 * Told about every call a routing bean makes on a repository implementation, so that it
 * can be measured. Called on the caller's thread after each call; must return quickly and
 * never throw.
 */
@FunctionalInterface
public interface DualWriteListener {

	/**
	 * A listener that does nothing.
	 */
	DualWriteListener NONE = (migrationId, operation, side, sync, duration, failure) -> {
	};

	/**
	 * A call on one implementation returned or threw.
	 * @param migrationId the migration
	 * @param operation whether the call reads or writes
	 * @param side the implementation called
	 * @param sync whether the call kept the other side in sync, rather than writing the
	 * source of truth or reading
	 * @param duration how long the call took
	 * @param failure what it threw, or {@code null} if it returned
	 */
	void called(String migrationId, Operation operation, Schema side, boolean sync, Duration duration,
			@Nullable Throwable failure);

	/**
	 * A write that included the old side failed at {@code contract} because another
	 * instance had run the contract DDL: it was undone to a savepoint and made again on
	 * the new side alone, so the application's write went through. Told instead of
	 * {@link #called} with its failure.
	 * @param migrationId the migration
	 * @param side the implementation called
	 * @param sync whether the call kept the other side in sync
	 * @param duration how long the call took
	 */
	default void contracted(String migrationId, Schema side, boolean sync, Duration duration) {
	}

	/**
	 * Return a listener that tells each of the given ones, in order.
	 * @param listeners the listeners
	 * @return one listener for all of them
	 */
	static DualWriteListener of(List<? extends DualWriteListener> listeners) {
		if (listeners.isEmpty()) {
			return NONE;
		}
		List<DualWriteListener> all = List.copyOf(listeners);
		return new DualWriteListener() {

			@Override
			public void called(String migrationId, Operation operation, Schema side, boolean sync, Duration duration,
					@Nullable Throwable failure) {
				all.forEach((listener) -> listener.called(migrationId, operation, side, sync, duration, failure));
			}

			@Override
			public void contracted(String migrationId, Schema side, boolean sync, Duration duration) {
				all.forEach((listener) -> listener.contracted(migrationId, side, sync, duration));
			}

		};
	}

	/**
	 * Whether a routed call reads or writes.
	 */
	enum Operation {

		/** A read, routed to one side. */
		READ,

		/** A write, to the source of truth and possibly the other side. */
		WRITE;

		/**
		 * Return the operation as a tag value.
		 * @return {@code read} or {@code write}
		 */
		public String value() {
			return name().toLowerCase();
		}

	}

}
