package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.locks.BlockingSession;

/**
 * Told what each expand or contract statement does, attempt by attempt, so that it can be
 * measured and traced. Every method does nothing by default; they are called on the
 * thread that runs the statement and must return quickly.
 */
public interface DdlListener {

	/**
	 * A listener that does nothing.
	 */
	DdlListener NONE = new DdlListener() {
	};

	/**
	 * A statement is about to run.
	 * @param key which statement of which migration and step
	 * @param statement the statement
	 * @return the statement, to be told about its attempts and how it ended
	 */
	default Execution statementStarting(StatementKey key, DdlStatement statement) {
		return Execution.NONE;
	}

	/**
	 * Return a listener that tells each of the given ones, in order.
	 * @param listeners the listeners
	 * @return one listener for all of them
	 */
	static DdlListener of(List<? extends DdlListener> listeners) {
		if (listeners.isEmpty()) {
			return NONE;
		}
		if (listeners.size() == 1) {
			return listeners.get(0);
		}
		List<DdlListener> all = List.copyOf(listeners);
		return new DdlListener() {

			@Override
			public Execution statementStarting(StatementKey key, DdlStatement statement) {
				return composite(all.stream().map((listener) -> listener.statementStarting(key, statement)).toList());
			}

		};
	}

	private static Execution composite(List<Execution> executions) {
		return new Execution() {

			@Override
			public void attemptStarting(int attempt) {
				executions.forEach((execution) -> execution.attemptStarting(attempt));
			}

			@Override
			public void lockTimeout(int attempt, Duration waited, List<BlockingSession> blockers) {
				executions.forEach((execution) -> execution.lockTimeout(attempt, waited, blockers));
			}

			@Override
			public void finished(@Nullable Throwable failure) {
				executions.forEach((execution) -> execution.finished(failure));
			}

		};
	}

	/**
	 * One statement's execution; {@link #finished(Throwable)} is called once, last.
	 */
	interface Execution {

		/**
		 * An execution that ignores what happens.
		 */
		Execution NONE = new Execution() {
		};

		/**
		 * An attempt is about to start.
		 * @param attempt the attempt, from 1
		 */
		default void attemptStarting(int attempt) {
		}

		/**
		 * An attempt timed out waiting for a lock.
		 * @param attempt the attempt
		 * @param waited how long it waited
		 * @param blockers the sessions seen holding the lock, possibly none
		 */
		default void lockTimeout(int attempt, Duration waited, List<BlockingSession> blockers) {
		}

		/**
		 * The statement was applied, or failed for good.
		 * @param failure why it failed, or {@code null} if it was applied
		 */
		default void finished(@Nullable Throwable failure) {
		}

	}

}
