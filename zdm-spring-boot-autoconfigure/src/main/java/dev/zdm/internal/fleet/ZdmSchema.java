package dev.zdm.internal.fleet;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jspecify.annotations.Nullable;

import org.springframework.core.NestedExceptionUtils;
import org.springframework.jdbc.datasource.DelegatingDataSource;

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

	// the schema Flyway puts its history table in (zdm.schema, or else the connection's
	// current one), whether the history table is there yet, and whether the role may
	// create it; no row when the search_path names no schema that exists
	private static final String MAY_CREATE = "/* zdm */ SELECT n.nspname, current_user, quote_ident(n.nspname), "
			+ "quote_ident(current_user), has_schema_privilege(n.oid, 'CREATE'), EXISTS (SELECT 1 FROM pg_class c "
			+ "WHERE c.relnamespace = n.oid AND c.relname = '" + HISTORY_TABLE + "') "
			+ "FROM pg_namespace n WHERE n.nspname = coalesce(?, current_schema())";

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
	 * baseline it). Flyway is handed that connection first, so that this takes no more of
	 * the pool than Flyway alone (two connections).
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
				refuseIfCannotCreate(connection, schema);
				flyway(schema, new LockHolderFirst(this.dataSource, connection)).migrate();
			}
			catch (RuntimeException ex) {
				throw (PoolConnections.ranOut(ex)) ? poolTooSmall(ex) : ex;
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

	private static ZdmConfigurationException poolTooSmall(RuntimeException ex) {
		return new ZdmConfigurationException(null,
				"zdm could not get a second connection from the application's pool to create or upgrade its tables "
						+ "(it holds one for its lock and needs one more, as Flyway does): "
						+ NestedExceptionUtils.getMostSpecificCause(ex).getMessage(),
				PoolConnections.ADVICE, ex);
	}

	private Flyway flyway(@Nullable String schema, DataSource dataSource) {
		FluentConfiguration configuration = Flyway.configure(getClass().getClassLoader());
		if (schema != null) {
			// Flyway puts its history table in the schema and runs zdm's scripts with
			// it first on the search_path
			configuration.schemas(schema).createSchemas(false);
		}
		return configuration.dataSource(dataSource)
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

	// Flyway creating its history table in a schema the role may not create in failed
	// start-up with Flyway's stack trace and no advice (the case of public for a role of
	// the application on PostgreSQL 15 and later, which grant no CREATE on it to PUBLIC).
	// Once the tables exist, a role that may only use them, as another role created
	// them, goes on as before.
	private void refuseIfCannotCreate(Connection connection, @Nullable String schema) {
		try (PreparedStatement mayCreate = connection.prepareStatement(MAY_CREATE)) {
			mayCreate.setString(1, schema);
			try (ResultSet rs = mayCreate.executeQuery()) {
				if (!rs.next() || rs.getBoolean(5) || rs.getBoolean(6)) {
					return;
				}
				String where = rs.getString(1);
				String role = rs.getString(2);
				String quotedWhere = rs.getString(3);
				String quotedRole = rs.getString(4);
				throw new ZdmConfigurationException(null,
						"the application's role '" + role + "' may not create zdm's tables in schema '" + where + "' ("
								+ ((schema != null) ? "zdm.schema"
										: "the connection's current schema; zdm.schema is unset")
								+ "): it has no CREATE privilege there, and zdm's tables are not there yet",
						"Grant it (GRANT CREATE ON SCHEMA " + quotedWhere + " TO " + quotedRole + "), or "
								+ ((schema != null)
										? "make it the schema's owner (ALTER SCHEMA " + quotedWhere + " OWNER TO "
												+ quotedRole + "), or set zdm.schema to a schema it owns"
										: "create a schema for zdm's tables beforehand (CREATE SCHEMA zdm_ops "
												+ "AUTHORIZATION " + quotedRole + ") and set zdm.schema=zdm_ops")
								+ ", or start zdm once as a role that may create them and grant this one SELECT, "
								+ "INSERT, UPDATE and DELETE on them and USAGE on their sequences.");
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("zdm could not read whether it may create its tables: " + ex.getMessage(),
					ex);
		}
	}

	/**
	 * The application's data source, handing out the connection that holds zdm's lock
	 * first, while no one else uses it, and its other connections after: a pool of two
	 * was not enough for the lock and Flyway's two connections (start-up failed after the
	 * pool's connection timeout). Closing the lent connection returns it here.
	 */
	private static final class LockHolderFirst extends DelegatingDataSource {

		private final Connection holder;

		private boolean lent;

		LockHolderFirst(DataSource dataSource, Connection holder) {
			super(dataSource);
			this.holder = holder;
		}

		@Override
		public synchronized Connection getConnection() throws SQLException {
			if (this.lent) {
				return super.getConnection();
			}
			this.lent = true;
			boolean[] closed = new boolean[1];
			return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
					new Class<?>[] { Connection.class }, (proxy, method, args) -> {
						switch (method.getName()) {
							case "close" -> {
								synchronized (this) {
									if (!closed[0]) {
										closed[0] = true;
										this.lent = false;
									}
								}
								return null;
							}
							case "isClosed" -> {
								return closed[0] || this.holder.isClosed();
							}
							case "equals" -> {
								return proxy == args[0];
							}
							case "hashCode" -> {
								return System.identityHashCode(proxy);
							}
							default -> {
								if (closed[0]) {
									throw new SQLException("Connection is closed");
								}
								try {
									return method.invoke(this.holder, args);
								}
								catch (InvocationTargetException ex) {
									throw ex.getTargetException();
								}
							}
						}
					});
		}

	}

}
