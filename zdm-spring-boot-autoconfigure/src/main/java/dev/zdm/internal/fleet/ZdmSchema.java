package dev.zdm.internal.fleet;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jspecify.annotations.Nullable;

import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * zdm's own tables ({@code zdm_migration}, {@code zdm_instance} and those of the DDL and
 * backfill concerns), created and upgraded through a Flyway of zdm's own whose history
 * table, {@code zdm_schema_history}, is never the application's. In the schema
 * {@link ZdmTables} names, created if missing, or else in the connection's current one.
 */
public class ZdmSchema {

	/** The history table of zdm's own schema migrations. */
	public static final String HISTORY_TABLE = "zdm_schema_history";

	/** Where zdm's own schema migrations are. */
	public static final String LOCATION = "classpath:dev/zdm/schema/db";

	private static final String LOCK = "/* zdm */ SELECT pg_advisory_lock(hashtext('zdm.schema'))";

	private static final String UNLOCK = "/* zdm */ SELECT pg_advisory_unlock(hashtext('zdm.schema'))";

	private static final String SCHEMA_EXISTS = "/* zdm */ SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)";

	private final DataSource dataSource;

	private final ZdmTables tables;

	/**
	 * Create a schema manager for zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public ZdmSchema(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a schema manager.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public ZdmSchema(DataSource dataSource, ZdmTables tables) {
		this.dataSource = dataSource;
		this.tables = tables;
	}

	/**
	 * Create or upgrade zdm's tables. Safe to call from several instances at once: each
	 * runs zdm's scripts holding a session advisory lock, on a connection of its own, so
	 * that they run one after another (Flyway's own lock is taken only once its history
	 * table exists, so instances starting together on an empty schema raced to create and
	 * baseline it).
	 */
	public void migrate() {
		try (Connection connection = this.dataSource.getConnection()) {
			boolean autoCommit = connection.getAutoCommit();
			connection.setAutoCommit(true);
			try (Statement lock = connection.createStatement()) {
				lock.execute(LOCK);
			}
			try {
				String schema = this.tables.schema();
				if (schema != null) {
					createIfMissing(connection, schema);
				}
				flyway(schema).migrate();
			}
			finally {
				try (Statement unlock = connection.createStatement()) {
					unlock.execute(UNLOCK);
				}
				connection.setAutoCommit(autoCommit);
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException(
					"zdm could not take the lock to create or upgrade its tables: " + ex.getMessage(), ex);
		}
	}

	private Flyway flyway(@Nullable String schema) {
		FluentConfiguration configuration = Flyway.configure(getClass().getClassLoader());
		if (schema != null) {
			// Flyway puts its history table in the schema and runs zdm's scripts with
			// it first on the search_path
			configuration.schemas(schema).createSchemas(false);
		}
		return configuration.dataSource(this.dataSource)
			.table(HISTORY_TABLE)
			.locations(LOCATION)
			.baselineOnMigrate(true)
			.baselineVersion("0")
			.baselineDescription("zdm baseline")
			.validateMigrationNaming(true)
			.cleanDisabled(true)
			.load();
	}

	// Rather than Flyway's createSchemas, so that a role that may not create it is
	// refused with what to do; checked before creating, so that a role without CREATE
	// on the database works with a schema made for it beforehand
	private void createIfMissing(Connection connection, String schema) {
		try (PreparedStatement exists = connection.prepareStatement(SCHEMA_EXISTS)) {
			exists.setString(1, schema);
			try (ResultSet rs = exists.executeQuery()) {
				rs.next();
				if (!rs.getBoolean(1)) {
					try (Statement create = connection.createStatement()) {
						create.execute("CREATE SCHEMA " + new SqlIdentifier(schema).quoted());
					}
				}
			}
		}
		catch (SQLException ex) {
			throw new ZdmConfigurationException(null,
					"zdm could not create the schema '" + schema + "' (zdm.schema) for its tables: " + ex.getMessage(),
					"Create the schema beforehand (CREATE SCHEMA " + schema + " AUTHORIZATION <the application's "
							+ "role>), or grant the application's role CREATE on the database, or leave zdm.schema "
							+ "unset to keep zdm's tables in the connection's current schema.",
					ex);
		}
	}

}
