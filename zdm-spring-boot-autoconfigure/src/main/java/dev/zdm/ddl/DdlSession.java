package dev.zdm.ddl;

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
 * The database session a migration's DDL step runs on: one connection, held for the whole step, that holds the
 * migration's DDL lock (a session-level advisory lock) so that no two instances run DDL of the same migration at
 * once. Each statement runs on it in a transaction of its own, or outside any transaction.
 */
public final class DdlSession implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(DdlSession.class);

	private static final String BACKEND_PID = "SELECT pg_backend_pid()";

	private static final String LOCK = "SELECT pg_advisory_lock(hashtext('zdm.ddl'), hashtext(?))";

	private static final String TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('zdm.ddl'), hashtext(?))";

	private static final String UNLOCK = "SELECT pg_advisory_unlock(hashtext('zdm.ddl'), hashtext(?))";

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
			throw new IllegalStateException("Could not take or release the DDL lock of migration '" + migrationId + "'", ex);
		}
	}

}
