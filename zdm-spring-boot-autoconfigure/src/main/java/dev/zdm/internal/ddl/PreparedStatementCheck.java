package dev.zdm.internal.ddl;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.postgresql.PGConnection;
import org.postgresql.jdbc.AutoSave;

import org.springframework.util.ClassUtils;

import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.migration.MigrationDefinition;

/**
 * Warns at start-up when the PostgreSQL driver prepares statements on the server and does
 * not retry them: a statement prepared before an expand adds a column or a contract drops
 * one, and that returns every column of the table ({@code RETURNING *}, which the driver
 * adds for generated keys asked for without column names, or {@code SELECT *}), then
 * fails once in a transaction on each connection that prepared it, on every instance,
 * with {@code cached plan must not change result type}: a request fails. With
 * {@code autosave=conservative} the driver retries such a statement by itself.
 */
public class PreparedStatementCheck implements MigrationParticipant {

	private static final Log logger = LogFactory.getLog(PreparedStatementCheck.class);

	private static final boolean DRIVER_PRESENT = ClassUtils.isPresent("org.postgresql.PGConnection",
			PreparedStatementCheck.class.getClassLoader());

	private final DataSource dataSource;

	/**
	 * Create a check.
	 * @param dataSource the application's data source
	 */
	public PreparedStatementCheck(DataSource dataSource) {
		this.dataSource = dataSource;
	}

	@Override
	public void checkDataSource(List<MigrationDefinition> migrations) {
		if (migrations.isEmpty() || !DRIVER_PRESENT) {
			return;
		}
		String advice;
		try (Connection connection = this.dataSource.getConnection()) {
			advice = advice(connection);
		}
		catch (SQLException ex) {
			logger.debug("zdm: could not read the driver's prepared-statement settings", ex);
			return;
		}
		if (advice != null) {
			logger.warn("zdm: " + advice);
		}
	}

	/**
	 * Say what to change, if the connection's driver settings let a change of a table's
	 * columns fail a request.
	 * @param connection a connection of the application's pool
	 * @return the advice, or {@code null} if there is none to give
	 * @throws SQLException if the connection cannot be read
	 */
	static String advice(Connection connection) throws SQLException {
		if (!connection.isWrapperFor(PGConnection.class)) {
			return null;
		}
		PGConnection pg = connection.unwrap(PGConnection.class);
		if (pg.getPrepareThreshold() <= 0 || pg.getAutosave() != AutoSave.NEVER) {
			return null;
		}
		return "the PostgreSQL driver prepares statements on the server (prepareThreshold=" + pg.getPrepareThreshold()
				+ ") and does not retry them (autosave=never): a statement prepared before an expand adds a column "
				+ "or a contract drops one, and that returns every column of the table (RETURNING *, which the driver "
				+ "adds for generated keys asked for without column names, or SELECT *), fails once in a "
				+ "transaction on each connection that prepared it, on every instance, with 'cached plan must not change result type'. "
				+ "Add autosave=conservative to spring.datasource.url (the driver then retries such a statement), "
				+ "or name the columns such statements return";
	}

}
