package dev.zdm.internal.ddl;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.jdbc.datasource.DelegatingDataSource;

/**
 * The application's data source as handed to Flyway for one step: every connection Flyway
 * took is given back to the pool when the step ends, whatever Flyway left open when it
 * failed (it can fail after taking one, for example on a location it cannot read), so
 * that a step tried again and again does not drain the application's pool.
 */
final class ReturningDataSource extends DelegatingDataSource implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(ReturningDataSource.class);

	private final List<Connection> taken = new ArrayList<>();

	ReturningDataSource(DataSource dataSource) {
		super(dataSource);
	}

	@Override
	public Connection getConnection() throws SQLException {
		return track(super.getConnection());
	}

	@Override
	public Connection getConnection(String username, String password) throws SQLException {
		return track(super.getConnection(username, password));
	}

	private synchronized Connection track(Connection connection) {
		this.taken.add(connection);
		return connection;
	}

	/**
	 * Give back every connection taken and not closed.
	 * @return how many were left open
	 */
	synchronized int giveBack() {
		int left = 0;
		for (Connection connection : this.taken) {
			try {
				if (!connection.isClosed()) {
					left++;
					connection.close();
				}
			}
			catch (SQLException ex) {
				logger.debug("zdm: could not give a connection Flyway left open back to the pool", ex);
			}
		}
		this.taken.clear();
		return left;
	}

	@Override
	public void close() {
		int left = giveBack();
		if (left > 0) {
			logger.debug("zdm: gave back " + left + " connection(s) Flyway left open");
		}
	}

}
