package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.locks.BlockingSession;

/**
 * A {@link DdlListener} that remembers, per migration, the statement this instance runs
 * now and whether it has timed out waiting for its lock, so that health and metrics can
 * say how long a DDL has been blocked.
 */
public class DdlActivity implements DdlListener {

	private final Map<String, Running> running = new ConcurrentHashMap<>();

	@Override
	public Execution statementStarting(StatementKey key, DdlStatement statement) {
		Running current = new Running(key, statement.abbreviated(), System.nanoTime(), Instant.now());
		this.running.put(key.migrationId(), current);
		return new Execution() {

			@Override
			public void lockTimeout(int attempt, Duration waited, List<BlockingSession> blockers) {
				current.lockTimeouts = attempt;
				current.blockers = blockers;
			}

			@Override
			public void finished(@Nullable Throwable failure) {
				DdlActivity.this.running.remove(key.migrationId(), current);
			}

		};
	}

	/**
	 * Return the statement of a migration that this instance runs now and that has timed
	 * out waiting for its lock at least once.
	 * @param migrationId the migration
	 * @return the blocked statement, or {@code null} if none
	 */
	public @Nullable Blocked blocked(String migrationId) {
		Running current = this.running.get(migrationId);
		if (current == null || current.lockTimeouts == 0) {
			return null;
		}
		return new Blocked(current.key, current.statement, current.startedAt,
				Duration.ofNanos(System.nanoTime() - current.started), current.lockTimeouts, current.blockers);
	}

	/**
	 * A statement that waits for its lock.
	 *
	 * @param key which statement
	 * @param statement the statement, abbreviated
	 * @param since when it started
	 * @param duration for how long it has been trying
	 * @param lockTimeouts how many of its attempts timed out waiting for the lock
	 * @param blockers the sessions that held the lock at the last timeout, possibly none
	 */
	public record Blocked(StatementKey key, String statement, Instant since, Duration duration, int lockTimeouts,
			List<BlockingSession> blockers) {

	}

	private static final class Running {

		private final StatementKey key;

		private final String statement;

		private final long started;

		private final Instant startedAt;

		private volatile int lockTimeouts;

		private volatile List<BlockingSession> blockers = List.of();

		Running(StatementKey key, String statement, long started, Instant startedAt) {
			this.key = key;
			this.statement = statement;
			this.started = started;
			this.startedAt = startedAt;
		}

	}

}
