package dev.zdm.internal.fleet;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.time.Instant;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.transaction.TransactionSystemException;
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

	private final SameIdWatch sameId = new SameIdWatch();

	private volatile @Nullable Instant askedForReadNewAt;

	private volatile @Nullable Instant connectionLostAt;

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
		this.connectionLostAt = null;
	}

	/**
	 * Return when this migration's last heartbeat failed for want of a connection to the
	 * database (the pool's connection timeout, a connection broken), if it did.
	 * @return the time, or {@code null} if its last heartbeat succeeded or failed for
	 * another reason
	 */
	@Nullable Instant connectionLostAt() {
		return this.connectionLostAt;
	}

	/**
	 * Return when this instance first asked for {@code read-new} or later, since it last
	 * asked for an earlier phase, as the database's clock read it at that heartbeat.
	 * @return the time, or {@code null} if it has not asked yet
	 */
	@Nullable Instant askedForReadNewAt() {
		return this.askedForReadNewAt;
	}

	/**
	 * Remember the first heartbeat that asked for {@code read-new} or later.
	 * @param heartbeatAt the heartbeat's time
	 */
	void heartbeatWritten(Instant heartbeatAt) {
		if (!PhasePolicy.asksForReadNew(this.migration)) {
			this.askedForReadNewAt = null;
		}
		else if (this.askedForReadNewAt == null) {
			this.askedForReadNewAt = heartbeatAt;
		}
	}

	/**
	 * Return what tells another process's writes of this instance's row from its own.
	 */
	SameIdWatch sameId() {
		return this.sameId;
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
	 * @param decide the phase to route by, given the last heartbeat's status
	 * @return the effective phase
	 */
	Phase effectivePhase(Function<MigrationStatus, Phase> decide) {
		if (!TransactionSynchronizationManager.isSynchronizationActive()) {
			return decide.apply(status());
		}
		Phase bound = (Phase) TransactionSynchronizationManager.getResource(this.transactionKey);
		if (bound != null) {
			return bound;
		}
		Phase phase = decide.apply(status());
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
		this.connectionLostAt = connectionLost(ex) ? Instant.now() : null;
		MigrationStatus status = this.current;
		if (status != null) {
			this.current = new MigrationStatus(status.migration(), status.instanceId(), status.effective(),
					status.heldBackReason(), status.fleet(), status.state(), status.decidedAt(), describe(ex));
		}
	}

	private static boolean connectionLost(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof CannotGetJdbcConnectionException || cause instanceof SQLTransientConnectionException
					|| cause instanceof SQLNonTransientConnectionException
					|| (cause instanceof SQLException sql && noConnection(sql.getSQLState()))) {
				return true;
			}
			if (cause instanceof TransactionSystemException rollback && rollback.getApplicationException() != null
					&& connectionLost(rollback.getApplicationException())) {
				return true;
			}
		}
		return false;
	}

	// 08: a connection exception; 57P01 to 57P03: the server shuts down, crashed, or
	// cannot take connections yet
	private static boolean noConnection(@Nullable String sqlState) {
		return sqlState != null && (sqlState.startsWith("08") || sqlState.startsWith("57P0"));
	}

	/**
	 * Describe why a heartbeat failed: when its transaction could not even be rolled back
	 * (its connection was gone), by what failed first, which the rollback's failure would
	 * hide.
	 * @param ex the failure
	 * @return the description
	 */
	static String describe(RuntimeException ex) {
		if (ex instanceof TransactionSystemException rollback && rollback.getApplicationException() != null) {
			return rollback.getApplicationException().getMessage() + " (then " + rollback.getMessage() + ")";
		}
		return String.valueOf(ex.getMessage());
	}

}
