package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.locks.BlockingSession;

/**
 * A migration's DDL as recorded: its steps, every statement that ran with its attempts
 * and lock timeouts, and the most recent lock timeouts with the sessions that blocked
 * them.
 *
 * @param migrationId the migration
 * @param steps the expand and contract steps that have started
 * @param statements every statement run so far, in the order they started
 * @param lockTimeouts the most recent lock timeouts, latest first
 */
public record DdlStatus(String migrationId, List<Step> steps, List<Statement> statements,
		List<LockTimeout> lockTimeouts) {

	/**
	 * Return the statement that started last.
	 * @return the last statement, or {@code null} if none ran
	 */
	public @Nullable Statement lastStatement() {
		return this.statements.isEmpty() ? null : this.statements.get(this.statements.size() - 1);
	}

	/**
	 * Return the attempts of all statements.
	 * @return the number of attempts
	 */
	public int totalAttempts() {
		return this.statements.stream().mapToInt(Statement::attempts).sum();
	}

	/**
	 * Return the lock timeouts of all statements.
	 * @return the number of lock timeouts
	 */
	public int totalLockTimeouts() {
		return this.statements.stream().mapToInt(Statement::lockTimeouts).sum();
	}

	/**
	 * Return the latest lock timeout, with the sessions that blocked it.
	 * @return the latest lock timeout, or {@code null} if none happened
	 */
	public @Nullable LockTimeout lastLockTimeout() {
		return this.lockTimeouts.isEmpty() ? null : this.lockTimeouts.get(0);
	}

	/**
	 * Return one step.
	 * @param step the step
	 * @return the step, or {@code null} if it has not started
	 */
	public @Nullable Step step(DdlStep step) {
		return this.steps.stream().filter((candidate) -> candidate.step() == step).findFirst().orElse(null);
	}

	/**
	 * One step of a migration.
	 *
	 * @param step expand or contract
	 * @param state {@code running}, {@code done}, {@code failed} or {@code paused}
	 * @param instanceId the instance that ran it last
	 * @param startedAt when it started last
	 * @param finishedAt when it finished, or {@code null}
	 * @param error why it failed, or {@code null}
	 */
	public record Step(DdlStep step, String state, String instanceId, Instant startedAt, @Nullable Instant finishedAt,
			@Nullable String error) {

		/**
		 * Whether the step has run to its end.
		 * @return {@code true} if done
		 */
		public boolean isDone() {
			return "done".equals(this.state);
		}

	}

	/**
	 * One statement of a step.
	 *
	 * @param step the step
	 * @param source the script's file name, or {@code contributor:<class>}
	 * @param index the statement's position in its source, from 1
	 * @param sql the statement
	 * @param state {@code running}, {@code applied}, {@code failed} or {@code paused}
	 * @param attempts how many times it was tried
	 * @param lockTimeouts how many of those attempts timed out on a lock
	 * @param startedAt when it started last
	 * @param finishedAt when it was applied or failed, or {@code null}
	 * @param error the last error, or {@code null}
	 * @param allowed the unsafe operations a {@code -- zdm:allow} comment allowed for the
	 * statement, each with its reason, such as
	 * {@code create-index: the table has 40 rows}, or {@code null}
	 */
	public record Statement(DdlStep step, String source, int index, String sql, String state, int attempts,
			int lockTimeouts, Instant startedAt, @Nullable Instant finishedAt, @Nullable String error,
			@Nullable String allowed) {

	}

	/**
	 * One attempt that timed out waiting for a lock, and who held it.
	 *
	 * @param step the step
	 * @param source the statement's source
	 * @param index the statement's position in its source
	 * @param attempt the attempt that timed out
	 * @param occurredAt when
	 * @param waited how long the attempt waited
	 * @param blockers the sessions that held the lock, as seen while the statement
	 * waited; empty if they were gone before they could be seen
	 */
	public record LockTimeout(DdlStep step, String source, int index, int attempt, Instant occurredAt, Duration waited,
			List<BlockingSession> blockers) {

		/**
		 * Describe the blockers in one line, for logs and status.
		 * @return the blocker report
		 */
		public String describeBlockers() {
			return describe(this.blockers);
		}

		static String describe(List<BlockingSession> blockers) {
			if (blockers.isEmpty()) {
				return "the blocking session was gone before it could be identified";
			}
			return "blocked by " + String.join("; ", blockers.stream().map(BlockingSession::describe).toList());
		}

	}

}
