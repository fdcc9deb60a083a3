package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;
import org.jspecify.annotations.Nullable;

/**
 * Where a migration's expand DDL stands on this instance, for the health details, the
 * endpoint and the meters.
 *
 * @param migrationId the migration
 * @param state what the expand does now
 * @param pendingSince when this instance found the expand not done, or {@code null} if it
 * found it done
 * @param finishedAt when it was found done, or {@code null}
 * @param statement the statement it runs or waits for, or {@code null}
 * @param lockTimeouts the lock timeouts of this instance's attempts so far
 * @param lastBlockers who blocked the last attempt that timed out, or {@code null}
 * @param lastError the last error of a failed run, or {@code null}
 * @param stalled whether it has been pending for longer than
 * {@code zdm.ddl.expand-alert-after}
 * @param pause the operator's fleet-wide pause (through which instance, and when), or
 * {@code null}; the state is {@link State#PAUSED} once this instance has stopped for it
 */
public record ExpandProgress(String migrationId, State state, @Nullable Instant pendingSince,
		@Nullable Instant finishedAt, @Nullable String statement, int lockTimeouts, @Nullable String lastBlockers,
		@Nullable String lastError, boolean stalled, @Nullable DdlPause pause) {

	/**
	 * Return how long the expand has been pending, or zero once it is done.
	 * @param now the time now
	 * @return the time pending
	 */
	public Duration pendingFor(Instant now) {
		if (this.state == State.DONE || this.pendingSince == null) {
			return Duration.ZERO;
		}
		return Duration.between(this.pendingSince, now);
	}

	/**
	 * Say what it does, and why it failed if it did, without the figures that change on
	 * every attempt, as the held-back reason does.
	 * @return for example
	 * {@code waits for a lock (migration 'm' expand V1__x.sql statement 1)}
	 */
	public String summary() {
		if (this.state == State.PAUSED && this.pause != null) {
			return "is " + this.pause.describe() + " for the whole fleet; resume it with POST /actuator/zdm/"
					+ this.migrationId + "/expand/resume";
		}
		StringBuilder summary = new StringBuilder(this.state.description.replace("<id>", this.migrationId));
		if (this.statement != null && this.state != State.DONE && this.state != State.PAUSED) {
			summary.append(" (").append(this.statement).append(')');
		}
		if (this.pause != null && this.state != State.DONE) {
			summary.append("; ").append(this.pause.describe()).append(": it stops before its next statement");
		}
		if (this.lastError != null && this.state == State.RETRYING) {
			summary.append("; last error: ").append(this.lastError);
		}
		return summary.toString();
	}

	/**
	 * Describe where it stands, in one line, with its lock timeouts, last blockers and
	 * last error.
	 * @return a description
	 */
	public String describe() {
		StringBuilder description = new StringBuilder(summary());
		if (this.lockTimeouts > 0 && this.state != State.DONE) {
			description.append("; ").append(this.lockTimeouts).append(" lock timeouts, the last ");
			description.append((this.lastBlockers != null) ? this.lastBlockers : "with no blocker seen");
		}
		if (this.stalled) {
			description.append("; STALLED: pending for longer than zdm.ddl.expand-alert-after");
		}
		return description.toString();
	}

	/**
	 * What the expand does.
	 */
	public enum State {

		/** It runs its statements on this instance. */
		RUNNING("runs on this instance"),

		/** A statement waits for its lock, between attempts. */
		WAITING_FOR_LOCK("waits for a lock"),

		/**
		 * Another instance holds the migration's DDL lock; this one takes over if that
		 * one dies.
		 */
		WAITING_FOR_INSTANCE("runs on another instance"),

		/**
		 * The expands of other migrations hold the connections the pool has room for on
		 * this instance; this one starts when one of them ends or fails.
		 */
		QUEUED("waits for the expand of another migration on this instance: the connection pool has room for "
				+ "fewer at once"),

		/** A run failed; it is run again after a pause. */
		RETRYING("failed and is retried"),

		/**
		 * This instance does not run it: the operator paused it for the whole fleet
		 * through the endpoint (see {@link ExpandProgress#pause()}), or
		 * {@code zdm.migrations.<id>.expand-paused} is set on this instance.
		 */
		PAUSED("is paused by zdm.migrations.<id>.expand-paused on this instance; it moves on once an instance "
				+ "without it has run the expand"),

		/** It is done. */
		DONE("is done");

		private final String description;

		State(String description) {
			this.description = description;
		}

		/**
		 * Return the state as the endpoint, the health details and the meters show it.
		 * @return the lower-case name, words joined by {@code -}, for example
		 * {@code waiting-for-lock}
		 */
		@JsonValue
		public String value() {
			return name().toLowerCase(Locale.ROOT).replace('_', '-');
		}

	}

}
