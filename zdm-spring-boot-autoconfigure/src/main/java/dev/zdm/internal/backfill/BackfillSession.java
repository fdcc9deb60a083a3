package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;

/**
 * The connection a run holds for its whole length: the advisory lock that makes it the
 * fleet's runner is taken on it, and each batch runs on it in a transaction of its own,
 * with the batch's timeouts. Closing it releases the lock; if the connection or the
 * process dies, PostgreSQL releases it with the session, and another instance takes over.
 */
public final class BackfillSession implements AutoCloseable {

	private final Connection connection;

	private final BackfillRepository repository;

	private final BackfillLocks locks;

	private final String migrationId;

	private final BackfillSettings settings;

	private final String table;

	private boolean locked;

	private boolean tableSlot;

	private int databaseSlot;

	// the backfills of the table ahead of this one in the queue, at the last try
	private List<String> ahead = List.of();

	private BackfillSession(Connection connection, ZdmTables tables, MigrationDefinition migration) {
		this.connection = connection;
		this.repository = new BackfillRepository(new SingleConnectionDataSource(connection, true), tables);
		this.locks = new BackfillLocks(this.repository.jdbcTemplate(), tables);
		this.migrationId = migration.id();
		this.settings = migration.backfill();
		this.table = migration.table().quoted();
	}

	/**
	 * Take a connection from the pool for a run.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 * @param migration the migration the run backfills
	 * @return the session
	 * @throws SQLException if no connection could be had
	 */
	static BackfillSession open(DataSource dataSource, ZdmTables tables, MigrationDefinition migration)
			throws SQLException {
		Connection connection = dataSource.getConnection();
		try {
			connection.setAutoCommit(true);
			return new BackfillSession(connection, tables, migration);
		}
		catch (SQLException | RuntimeException ex) {
			connection.close();
			throw ex;
		}
	}

	/**
	 * Return the repository of zdm's backfill tables on this session's connection.
	 * @return the repository
	 */
	BackfillRepository repository() {
		return this.repository;
	}

	/**
	 * Try to become the fleet's runner of the migration's backfill; once it is, have the
	 * connection notice a vanished peer within about 25 seconds.
	 * @return {@code true} if this session holds the lock
	 */
	boolean tryLock() {
		if (!this.locks.tryLock(this.migrationId)) {
			return false;
		}
		return locked();
	}

	/**
	 * Take the runner's lock from a stalled runner, if there is one: one whose instance
	 * is not live in the fleet and that wrote no progress for the fleet timeout, while
	 * its session still holds the lock (a process paused or cut off). Its session is
	 * ended, then the lock taken once the server has freed it, waiting at most a second.
	 * @param fleetTimeout the fleet timeout
	 * @param liveInstances the migration's live instances, as the fleet registry reads
	 * them
	 * @return the runner taken over from, or {@code null} if none, or if the lock is not
	 * free yet
	 */
	@Nullable String takeOverFromStalledRunner(Duration fleetTimeout, List<String> liveInstances) {
		String stalled = this.locks.endStalledRunner(this.migrationId, fleetTimeout, liveInstances);
		if (stalled == null) {
			return null;
		}
		long deadline = System.nanoTime() + Duration.ofSeconds(1).toNanos();
		while (!this.locks.tryLock(this.migrationId)) {
			if (System.nanoTime() > deadline) {
				return null;
			}
			try {
				Thread.sleep(20);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				return null;
			}
		}
		locked();
		return stalled;
	}

	private boolean locked() {
		this.locked = true;
		this.locks.keepAlive();
		return true;
	}

	/**
	 * Try to take a backfill slot for the run: the table's (one backfill at a time per
	 * table) and one of the database's, across the fleet. Session-level advisory locks,
	 * like the runner's, so a runner that dies frees its slots with its session. The
	 * table's slot goes in the queue's order, not to whoever asks first: a backfill that
	 * started copying comes before one that has not, even while its runner is between two
	 * instances (stopped on one, not yet run by the next).
	 * @param maxPerDatabase how many backfills may run at once on the database
	 * @param sameTable the other migrations on the table this instance knows of
	 * @param fleetTimeout how long a backfill no runner wrote for keeps its turn
	 * @return {@code true} if this session holds both
	 */
	boolean tryTakeSlot(int maxPerDatabase, List<String> sameTable, Duration fleetTimeout) {
		if (!this.tableSlot) {
			this.ahead = this.locks.aheadOnTable(this.migrationId, sameTable, fleetTimeout);
			if (!this.ahead.isEmpty()) {
				return false;
			}
			this.tableSlot = this.locks.tryTableSlot(this.table);
			if (!this.tableSlot) {
				return false;
			}
		}
		for (int slot = 1; this.databaseSlot == 0 && slot <= maxPerDatabase; slot++) {
			if (this.locks.tryDatabaseSlot(slot)) {
				this.databaseSlot = slot;
			}
		}
		return this.databaseSlot != 0;
	}

	/**
	 * Whether the run, at its last try, waits for the table's slot (one backfill per
	 * table, which no setting changes) rather than for one of the database's.
	 */
	boolean waitsForTable() {
		return !this.tableSlot;
	}

	/**
	 * Return the other migrations this session's run waits for: those ahead of it in the
	 * table's queue and those whose runners hold the table's slot, or, once it holds the
	 * table's slot, those whose runners hold the database's slots.
	 * @return their ids
	 */
	List<String> slotHolders() {
		if (this.tableSlot) {
			return this.locks.databaseSlotHolders(this.migrationId);
		}
		List<String> holders = new ArrayList<>(this.ahead);
		this.locks.tableSlotHolders(this.migrationId, this.table)
			.stream()
			.filter((holder) -> !holders.contains(holder))
			.forEach(holders::add);
		return holders;
	}

	/**
	 * Run work in a transaction of its own with the batch's lock and statement timeouts;
	 * it commits if the work returns, else rolls back.
	 * @param <T> the type of the work's result
	 * @param work the work
	 * @return the work's result
	 * @throws SQLException if the connection fails
	 */
	<T> T inTransaction(Work<T> work) throws SQLException {
		this.connection.setAutoCommit(false);
		boolean committed = false;
		try {
			this.repository.setLocalTimeouts(this.settings.lockTimeout(), this.settings.statementTimeout());
			T result = work.run();
			this.connection.commit();
			committed = true;
			this.connection.setAutoCommit(true);
			return result;
		}
		finally {
			if (!committed) {
				rollbackQuietly();
			}
		}
	}

	private void rollbackQuietly() {
		try {
			this.connection.rollback();
			this.connection.setAutoCommit(true);
		}
		catch (SQLException ex) {
			// the connection is gone: the failure that brought us here ends the run
		}
	}

	/**
	 * Release the lock, if this session holds it, and return the connection to the pool.
	 * @throws SQLException if the connection could not be closed
	 */
	@Override
	public void close() throws SQLException {
		try {
			if (this.locked) {
				release();
			}
		}
		finally {
			this.connection.close();
		}
	}

	private void release() {
		try {
			if (!this.connection.getAutoCommit()) {
				this.connection.rollback();
				this.connection.setAutoCommit(true);
			}
			if (this.databaseSlot != 0) {
				this.locks.releaseDatabaseSlot(this.databaseSlot);
			}
			if (this.tableSlot) {
				this.locks.releaseTableSlot(this.table);
			}
			this.locks.unlock(this.migrationId);
		}
		catch (SQLException | DataAccessException ex) {
			// the connection is gone, and the lock with it
		}
	}

	/**
	 * Work run in a transaction.
	 *
	 * @param <T> the type of its result
	 */
	@FunctionalInterface
	interface Work<T> {

		T run() throws SQLException;

	}

}
