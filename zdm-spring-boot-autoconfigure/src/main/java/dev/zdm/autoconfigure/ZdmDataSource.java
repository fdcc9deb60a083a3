package dev.zdm.autoconfigure;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Properties;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.util.ClassUtils;

import dev.zdm.internal.backfill.HikariCopy;
import dev.zdm.internal.backfill.OwnPoolCalls;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * The {@link DataSource} zdm runs on: the bean {@code zdm.data-source} names, else the
 * application's single (or primary) one. Its fleet registry, DDL, backfill and
 * {@code zdm_*} tables are all on that database.
 */
final class ZdmDataSource implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(ZdmDataSource.class);

	private static final boolean HIKARI_PRESENT = ClassUtils.isPresent("com.zaxxer.hikari.HikariDataSource",
			ZdmDataSource.class.getClassLoader());

	private final String beanName;

	private final DataSource dataSource;

	private final DataSource ddl;

	private final @Nullable AutoCloseable ownDdlPool;

	private ZdmDataSource(String beanName, DataSource dataSource, OwnPoolCalls ownCalls) {
		this.beanName = beanName;
		this.dataSource = ownCalls.counting(dataSource);
		this.ddl = this.dataSource;
		this.ownDdlPool = null;
	}

	private ZdmDataSource(ZdmDataSource application, DataSource ddl, @Nullable AutoCloseable ownDdlPool) {
		this.beanName = application.beanName;
		this.dataSource = application.dataSource;
		this.ddl = ddl;
		this.ownDdlPool = ownDdlPool;
	}

	/**
	 * Return this data source with zdm's DDL run as another login role, if one is
	 * configured: {@code zdm.ddl.user} and {@code zdm.ddl.password}, else
	 * {@code spring.flyway.user} and {@code spring.flyway.password}, the role the
	 * application's own migrations run as. The DDL connections go to the same database,
	 * as the application's pool is set up (its URL and driver properties), with that
	 * role's credentials.
	 * @param ddl zdm's DDL properties
	 * @param environment where Flyway's properties are read
	 * @return this data source, or one whose DDL runs as the configured role
	 * @throws ZdmConfigurationException if a password is given without a role
	 */
	ZdmDataSource withDdlRole(ZdmProperties.Ddl ddl, Environment environment) {
		String user = ddl.getUser();
		String password = ddl.getPassword();
		String source = "zdm.ddl.user";
		if (user == null && password != null) {
			throw new ZdmConfigurationException(null, "zdm.ddl.password is set, but not zdm.ddl.user",
					"Set zdm.ddl.user to the login role zdm runs its DDL as, or remove zdm.ddl.password.");
		}
		if (user == null && environment.getProperty("spring.flyway.user") != null) {
			user = environment.getProperty("spring.flyway.user");
			password = environment.getProperty("spring.flyway.password");
			source = "spring.flyway.user";
		}
		if (user == null || user.isBlank()) {
			return this;
		}
		// the DDL role resolves the scripts' names as the application does ("$user" in a
		// search path would name another schema for it)
		String searchPath = searchPath(user, source);
		if (HIKARI_PRESENT) {
			ZdmDataSource own = Hikari.ddlPool(this, user, password, searchPath);
			if (own != null) {
				logger.info("zdm: runs its DDL (expand, contract, abandon) as role '" + user + "' (" + source
						+ "), the rest on the application's data source");
				return own;
			}
		}
		String url = withoutCredentials(read(user, source, (connection) -> connection.getMetaData().getURL()));
		logger.info("zdm: runs its DDL (expand, contract, abandon) as role '" + user + "' (" + source
				+ "), connecting to " + url + "; the rest on the application's data source");
		DriverManagerDataSource connections = new DriverManagerDataSource(url, user, password) {

			@Override
			protected Connection getConnectionFromDriver(Properties props) throws SQLException {
				Connection connection = super.getConnectionFromDriver(props);
				try (Statement statement = connection.createStatement()) {
					statement.execute(searchPath);
				}
				catch (SQLException ex) {
					connection.close();
					throw ex;
				}
				return connection;
			}

		};
		return new ZdmDataSource(this, connections, null);
	}

	/**
	 * Return a JDBC URL without the user and password it may carry, which the driver
	 * would take over the DDL role's.
	 * @param url the application's URL
	 * @return the URL for the DDL role
	 */
	static String withoutCredentials(String url) {
		String stripped = url.replaceAll("(?i)(?<=[?&])(user|password)=[^&]*(&|$)", "");
		return stripped.replaceAll("[?&]$", "");
	}

	private String searchPath(String user, String source) {
		return read(user, source, (connection) -> {
			try (Statement statement = connection.createStatement();
					ResultSet rs = statement.executeQuery("/* zdm */ SELECT 'SET search_path TO ' || coalesce("
							+ "(SELECT string_agg(quote_ident(name), ', ' ORDER BY position) FROM "
							+ "unnest(current_schemas(false)) WITH ORDINALITY AS schemas(name, position)), "
							+ "quote_literal(''))")) {
				rs.next();
				return rs.getString(1);
			}
		});
	}

	private <T> T read(String user, String source, ConnectionCallback<T> read) {
		try (Connection connection = this.dataSource.getConnection()) {
			return read.doInConnection(connection);
		}
		catch (SQLException ex) {
			throw new ZdmConfigurationException(null,
					"zdm could not read how its data source '" + this.beanName + "' connects, to connect the same way "
							+ "as role '" + user + "' (" + source + ") for its DDL: " + ex.getMessage(),
					"Check that the database is reachable, or leave " + source + " unset.", ex);
		}
	}

	/**
	 * Find the data source zdm runs on.
	 * @param name the bean {@code zdm.data-source} names, or {@code null}
	 * @param beanFactory the application's bean factory
	 * @param ownCalls where zdm's own calls on it are counted
	 * @return the data source
	 * @throws ZdmConfigurationException if the name is no DataSource bean, or if none is
	 * named and there are several with none primary
	 */
	static ZdmDataSource resolve(@Nullable String name, ListableBeanFactory beanFactory, OwnPoolCalls ownCalls) {
		String[] names = beanFactory.getBeanNamesForType(DataSource.class, true, false);
		if (name != null) {
			if (!Arrays.asList(names).contains(name)) {
				throw new ZdmConfigurationException(null,
						"zdm.data-source is '" + name + "', which is not the name of a DataSource bean; the DataSource "
								+ "beans are " + Arrays.toString(names),
						"Set zdm.data-source to the name of the DataSource bean of the database zdm runs on.");
			}
			return new ZdmDataSource(name, beanFactory.getBean(name, DataSource.class), ownCalls);
		}
		DataSource unique = beanFactory.getBeanProvider(DataSource.class).getIfUnique();
		if (unique == null) {
			throw new ZdmConfigurationException(null,
					"the application has " + names.length + " DataSource beans " + Arrays.toString(names)
							+ ", none of them primary, and zdm.data-source does not say which one zdm runs on: its "
							+ "migrations would not run",
					"Set zdm.data-source to the name of the DataSource bean of the database the migrations run on "
							+ "(zdm's fleet, DDL, backfill and zdm_* tables are there), or mark that bean @Primary, "
							+ "or set zdm.enabled=false.");
		}
		return new ZdmDataSource(beanName(names, unique, beanFactory), unique, ownCalls);
	}

	private static String beanName(String[] names, DataSource dataSource, ListableBeanFactory beanFactory) {
		for (String name : names) {
			if (beanFactory.getBean(name) == dataSource) {
				return name;
			}
		}
		return names[0];
	}

	/**
	 * Return the name of the data source's bean.
	 * @return the bean name
	 */
	String beanName() {
		return this.beanName;
	}

	/**
	 * Return the data source zdm's engine runs on: the application's, its connections
	 * counted as zdm's own ({@link OwnPoolCalls}).
	 * @return the data source
	 */
	DataSource get() {
		return this.dataSource;
	}

	/**
	 * Return where zdm's DDL sessions are opened: the application's data source, or one
	 * for the role {@code zdm.ddl.user} (or {@code spring.flyway.user}) names.
	 * @return the data source
	 */
	DataSource ddl() {
		return this.ddl;
	}

	@Override
	public void close() throws Exception {
		if (this.ownDdlPool != null) {
			this.ownDdlPool.close();
		}
	}

	/**
	 * HikariCP's part, loaded only when it is on the class path: a small pool of the DDL
	 * role's own, set up as the application's HikariCP pool is (its URL, driver and SSL
	 * properties), with the role's credentials.
	 */
	private static final class Hikari {

		static @Nullable ZdmDataSource ddlPool(ZdmDataSource application, String user, @Nullable String password,
				String searchPath) {
			try {
				if (!application.dataSource.isWrapperFor(HikariDataSource.class)) {
					return null;
				}
				HikariConfig config = HikariCopy.of(application.dataSource.unwrap(HikariDataSource.class), "zdm-ddl");
				if (user.equals(config.getUsername()) && config.getJdbcUrl() != null
						&& config.getJdbcUrl().equals(withoutCredentials(config.getJdbcUrl()))) {
					// Flyway's user is the application's: no pool of its own
					return application;
				}
				if (config.getJdbcUrl() != null) {
					config.setJdbcUrl(withoutCredentials(config.getJdbcUrl()));
				}
				config.setUsername(user);
				config.setPassword(password);
				// a wrong password is told at start-up in seconds, not after the
				// application pool's 30
				config.setConnectionTimeout(Math.min(config.getConnectionTimeout(), 5_000));
				String initSql = config.getConnectionInitSql();
				config.setConnectionInitSql((initSql != null) ? initSql + "; " + searchPath : searchPath);
				// each expand, contract or abandon holds a session and Flyway's two
				// connections, and a cancel comes from beside
				config.setMaximumPoolSize(10);
				config.setMinimumIdle(0);
				HikariDataSource pool = new HikariDataSource(config);
				return new ZdmDataSource(application, pool, pool);
			}
			catch (SQLException ex) {
				logger.debug("zdm: the DDL role's connections are made without a pool of HikariCP's", ex);
				return null;
			}
		}

	}

	@Override
	public String toString() {
		return this.beanName;
	}

}
