package dev.zdm.internal.locks;

import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Refuses to start behind a pooler in transaction (or statement) mode, such as PgBouncer
 * with {@code pool_mode = transaction}: there a connection is not one database session,
 * so the session-level advisory locks that keep the expand, the contract and the backfill
 * on one instance, and the session settings of a concurrent index build, do not hold from
 * one transaction to the next.
 * <p>
 * Such a pooler gives a client's next transaction whichever server session is free. So
 * while a second connection holds a transaction open, the first one's backend must stay
 * its own: if the second connection got the first one's backend, or the first one moved
 * to another, the connections are pooled per transaction. A pooler that hands its idle
 * server sessions out in turn ({@code server_round_robin = 1}) gives the second
 * connection another one and the first its own again, so the check then reads the first
 * connection's backend in several transactions of its own, with the second one's session
 * idle again: such a pooler moves it from one to the other. A direct connection or a
 * session-mode pool never shows any of these, as a connection there is one session for
 * its life. The check only reads {@code pg_backend_pid()}.
 */
public class TransactionPoolingCheck implements MigrationParticipant {

	private static final Log logger = LogFactory.getLog(TransactionPoolingCheck.class);

	private static final String BACKEND_PID = "/* zdm */ SELECT pg_backend_pid()";

	private static final int ROUNDS = 3;

	/**
	 * The transactions of the first connection alone, once the second one is back in its
	 * pool: behind a pooler that hands its idle server sessions out in turn, the second
	 * one already moves it.
	 */
	private static final int ALONE = 6;

	private static final Duration ANSWER_WITHIN = Duration.ofSeconds(5);

	private final DataSource dataSource;

	private final @Nullable Integer maximumPoolSize;

	/**
	 * Create a check.
	 * @param dataSource the application's data source
	 * @param maximumPoolSize the most connections its pool hands out at once, {@code -1}
	 * for no limit, or {@code null} if not known
	 */
	public TransactionPoolingCheck(DataSource dataSource, @Nullable Integer maximumPoolSize) {
		this.dataSource = dataSource;
		this.maximumPoolSize = maximumPoolSize;
	}

	@Override
	public void checkDataSource(List<MigrationDefinition> migrations) {
		if (migrations.isEmpty()) {
			return;
		}
		if (this.maximumPoolSize != null && this.maximumPoolSize >= 0 && this.maximumPoolSize < 2) {
			// the check holds two connections at once; with a pool of one the second
			// would wait for the pool's connection timeout
			logger.debug("zdm: not checking for a transaction-mode pooler: the pool holds " + this.maximumPoolSize
					+ " connection");
			return;
		}
		String evidence;
		try {
			evidence = transactionPooling();
		}
		catch (SQLException ex) {
			logger.debug("zdm: could not tell whether the data source pools connections per transaction", ex);
			return;
		}
		if (evidence != null) {
			throw new ZdmConfigurationException(null, "the data source reaches PostgreSQL through a pooler in "
					+ "transaction mode (such as PgBouncer with pool_mode = transaction): " + evidence + ". There a "
					+ "connection is not one database session, so zdm's session-level advisory locks (one instance "
					+ "runs the expand, the contract and the backfill) and the session settings of a concurrent index "
					+ "build do not hold from one transaction to the next; zdm has run nothing",
					"Point the application's data source at PostgreSQL directly, or at a pool in session mode "
							+ "(PgBouncer: pool_mode = session for that database or user), at least on the "
							+ "instances that run zdm; or set zdm.enabled=false.");
		}
	}

	/**
	 * Look for a connection that changes backends between transactions.
	 * @return what shows it, or {@code null} if every connection kept its backend
	 * @throws SQLException if a connection fails
	 */
	String transactionPooling() throws SQLException {
		try (Connection first = this.dataSource.getConnection()) {
			first.setAutoCommit(true);
			for (int round = 0; round < ROUNDS; round++) {
				int before = pid(first);
				try (Connection second = this.dataSource.getConnection()) {
					second.setAutoCommit(false);
					String evidence = null;
					try {
						int held = pid(second);
						Integer after = pidWithin(first, ANSWER_WITHIN);
						if (after == null) {
							evidence = "a connection got no answer to SELECT pg_backend_pid() within "
									+ ANSWER_WITHIN.toSeconds() + " s while a second connection held a transaction "
									+ "open, as when the pooler's every server session is taken by a client's "
									+ "transaction";
						}
						else if (held == before) {
							evidence = "a second connection was given backend " + held
									+ " that the first one had used in its previous transaction";
						}
						else if (after != before) {
							evidence = "one connection ran on backend " + before + " and then on backend " + after;
						}
					}
					finally {
						evidence = endTransaction(second, evidence);
					}
					if (evidence != null) {
						return evidence;
					}
				}
			}
			int before = pid(first);
			for (int read = 1; read < ALONE; read++) {
				int after = pid(first);
				if (after != before) {
					return "one connection ran on backend " + before + " and then on backend " + after
							+ " in its next transaction, with no other connection of the check open";
				}
			}
		}
		catch (SQLException ex) {
			String evidence = preparedStatementsLost(ex);
			if (evidence != null) {
				return evidence;
			}
			throw ex;
		}
		return null;
	}

	/**
	 * End the second connection's transaction. Behind a transaction pooler that may fail
	 * too (the driver's prepared statements are on another backend): what was found
	 * stands, and a failure that shows such a pooler is evidence of its own.
	 */
	private static @Nullable String endTransaction(Connection connection, @Nullable String evidence)
			throws SQLException {
		try {
			connection.rollback();
			connection.setAutoCommit(true);
			return evidence;
		}
		catch (SQLException ex) {
			if (evidence != null) {
				return evidence;
			}
			String lost = preparedStatementsLost(ex);
			if (lost != null) {
				return lost;
			}
			throw ex;
		}
	}

	/**
	 * Whether a failure is the driver's server-side prepared statements not being where
	 * it left them ({@code prepared statement "S_1" already exists}, or does not exist):
	 * a connection that changes backends between transactions.
	 */
	static @Nullable String preparedStatementsLost(SQLException ex) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLException sql && ("42P05".equals(sql.getSQLState())
					|| ("26000".equals(sql.getSQLState()) && String.valueOf(sql.getMessage()).contains("prepared")))) {
				return "the driver's statements prepared on one backend were not on the backend of its next "
						+ "transaction (" + sql.getMessage() + ")";
			}
		}
		return null;
	}

	/**
	 * Read a connection's backend, giving up after a while: a direct connection or one of
	 * a session-mode pool has a backend of its own and answers at once, while behind a
	 * transaction-mode pooler whose server sessions are all taken (one held by the
	 * check's own second connection) it waits for the pooler's query_wait_timeout, two
	 * minutes by default, or for ever.
	 * @return the backend, or {@code null} if no answer came in time (the connection is
	 * then broken, and closed by its pool)
	 */
	private static @Nullable Integer pidWithin(Connection connection, Duration limit) throws SQLException {
		int before = connection.getNetworkTimeout();
		connection.setNetworkTimeout(Runnable::run, (int) limit.toMillis());
		int pid;
		try {
			pid = pid(connection);
		}
		catch (SQLException ex) {
			for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
				if (cause instanceof SocketTimeoutException) {
					return null;
				}
			}
			throw ex;
		}
		connection.setNetworkTimeout(Runnable::run, before);
		return pid;
	}

	private static int pid(Connection connection) throws SQLException {
		try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(BACKEND_PID)) {
			rs.next();
			return rs.getInt(1);
		}
	}

}
