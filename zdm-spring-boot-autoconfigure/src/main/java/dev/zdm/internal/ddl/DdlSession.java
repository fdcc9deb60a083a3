package dev.zdm.internal.ddl;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * The database session a migration's DDL step runs on: one connection, held for the whole
 * step, that holds the migration's DDL lock (a session-level advisory lock) so that no
 * two instances run DDL of the same migration at once. Each statement runs on it in a
 * transaction of its own, or outside any transaction. Every statement zdm sends on the
 * session besides the migration's own DDL (the lock, the timeouts, dropping an invalid
 * index) is here.
 */
public final class DdlSession implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(DdlSession.class);

	private static final String BACKEND_PID = "/* zdm */ SELECT pg_backend_pid()";

	private static final String LOCK = "/* zdm */ SELECT pg_advisory_lock(hashtext('zdm.ddl'), hashtext(?))";

	private static final String TRY_LOCK = "/* zdm */ SELECT pg_try_advisory_lock(hashtext('zdm.ddl'), hashtext(?))";

	private static final String UNLOCK = "/* zdm */ SELECT pg_advisory_unlock(hashtext('zdm.ddl'), hashtext(?))";

	private static final String SET_TIMEOUTS = """
			/* zdm */ SELECT set_config('lock_timeout', ?, ?), set_config('statement_timeout', ?, ?)
			""";

	private static final String RESET_TIMEOUTS = "/* zdm */ RESET lock_timeout; RESET statement_timeout";

	private static final String CANCEL = "/* zdm */ SELECT pg_cancel_backend(?)";

	// A wait for a lock on a table or another object; not the waits of a concurrent
	// index build for older transactions, which come after it has its lock.
	private static final String CANCEL_IF_WAITING_FOR_LOCK = """
			/* zdm */ SELECT pg_cancel_backend(pid) FROM pg_stat_activity
			WHERE pid = ? AND wait_event_type = 'Lock' AND wait_event NOT IN ('virtualxid', 'transactionid')
			""";

	private static final String DROP_INDEX_CONCURRENTLY = "DROP INDEX CONCURRENTLY IF EXISTS %s";

	private final Connection connection;

	private final int pid;

	private @Nullable String lockedMigrationId;

	private DdlSession(Connection connection, int pid) {
		this.connection = connection;
		this.pid = pid;
	}

	/**
	 * Open a session.
	 * @param dataSource the application's data source
	 * @return the session
	 */
	public static DdlSession open(DataSource dataSource) {
		try {
			Connection connection = dataSource.getConnection();
			try {
				connection.setAutoCommit(true);
				try (Statement statement = connection.createStatement();
						ResultSet rs = statement.executeQuery(BACKEND_PID)) {
					rs.next();
					return new DdlSession(connection, rs.getInt(1));
				}
			}
			catch (SQLException ex) {
				connection.close();
				throw ex;
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not open a session for DDL", ex);
		}
	}

	/**
	 * Return the session's connection, in auto-commit mode between statements.
	 * @return the connection
	 */
	public Connection connection() {
		return this.connection;
	}

	/**
	 * Return the session's backend process id.
	 * @return the pid
	 */
	public int pid() {
		return this.pid;
	}

	/**
	 * Take the migration's DDL lock, waiting for another instance that holds it.
	 * @param migrationId the migration
	 */
	public void lock(String migrationId) {
		query(LOCK, migrationId);
		this.lockedMigrationId = migrationId;
	}

	/**
	 * Take the migration's DDL lock if no other instance holds it.
	 * @param migrationId the migration
	 * @return {@code true} if this session now holds the lock
	 */
	public boolean tryLock(String migrationId) {
		boolean locked = query(TRY_LOCK, migrationId);
		if (locked) {
			this.lockedMigrationId = migrationId;
		}
		return locked;
	}

	/**
	 * Set the lock and statement timeouts, for the current transaction or for the
	 * session.
	 * @param settings the timeouts
	 * @param local {@code true} for the current transaction only, {@code false} for the
	 * session until {@link #resetTimeouts()}
	 * @throws SQLException if they cannot be set
	 */
	public void setTimeouts(DdlSettings settings, boolean local) throws SQLException {
		try (PreparedStatement statement = this.connection.prepareStatement(SET_TIMEOUTS)) {
			statement.setString(1, settings.lockTimeout().toMillis() + "ms");
			statement.setBoolean(2, local);
			statement.setString(3, settings.statementTimeout().toMillis() + "ms");
			statement.setBoolean(4, local);
			statement.execute();
		}
	}

	/**
	 * Reset the session's timeouts to their defaults.
	 * @throws SQLException if they cannot be reset
	 */
	public void resetTimeouts() throws SQLException {
		try (Statement statement = this.connection.createStatement()) {
			statement.execute(RESET_TIMEOUTS);
		}
	}

	/**
	 * Drop an index without blocking the table's readers and writers, outside any
	 * transaction.
	 * @param index the index's name as the catalog writes it ({@code regclass} output,
	 * quoted as SQL needs it)
	 * @throws SQLException if it cannot be dropped, for example on a lock timeout
	 */
	public void dropIndexConcurrently(String index) throws SQLException {
		try (Statement statement = this.connection.createStatement()) {
			statement.execute(DROP_INDEX_CONCURRENTLY.formatted(index));
		}
	}

	/**
	 * Cancel whatever statement the session runs now, from another connection, as on
	 * shutdown.
	 * @param dataSource where to take that connection from
	 */
	public void cancel(DataSource dataSource) {
		try (Connection other = dataSource.getConnection();
				PreparedStatement statement = other.prepareStatement(CANCEL)) {
			statement.setInt(1, this.pid);
			statement.execute();
		}
		catch (SQLException ex) {
			logger.debug("zdm: could not cancel the statement of DDL session " + this.pid, ex);
		}
	}

	/**
	 * Cancel the statement the session runs now only if it waits for a lock on a table or
	 * another object, from another connection: a statement that has its locks, such as a
	 * concurrent index build waiting for older transactions, goes on.
	 * @param dataSource where to take that connection from
	 * @return {@code true} if a statement was cancelled
	 */
	public boolean cancelIfWaitingForLock(DataSource dataSource) {
		try (Connection other = dataSource.getConnection();
				PreparedStatement statement = other.prepareStatement(CANCEL_IF_WAITING_FOR_LOCK)) {
			statement.setInt(1, this.pid);
			try (ResultSet rs = statement.executeQuery()) {
				return rs.next() && rs.getBoolean(1);
			}
		}
		catch (SQLException ex) {
			logger.debug("zdm: could not cancel the lock wait of DDL session " + this.pid, ex);
			return false;
		}
	}

	/**
	 * Release the lock, if held, and return the connection.
	 */
	@Override
	public void close() {
		try {
			if (this.lockedMigrationId != null) {
				query(UNLOCK, this.lockedMigrationId);
			}
		}
		catch (RuntimeException ex) {
			logger.warn("zdm: could not release the DDL lock; it goes with the session", ex);
		}
		finally {
			try {
				this.connection.close();
			}
			catch (SQLException ex) {
				logger.warn("zdm: could not close the DDL session", ex);
			}
		}
	}

	private boolean query(String sql, String migrationId) {
		try (PreparedStatement statement = this.connection.prepareStatement(sql)) {
			statement.setString(1, migrationId);
			try (ResultSet rs = statement.executeQuery()) {
				rs.next();
				Object value = rs.getObject(1);
				return !(value instanceof Boolean locked) || locked;
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not take or release the DDL lock of migration '" + migrationId + "'",
					ex);
		}
	}

}
