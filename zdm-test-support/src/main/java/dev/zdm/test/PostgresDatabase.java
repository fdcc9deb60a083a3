package dev.zdm.test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A database of its own on the shared embedded PostgreSQL server.
 *
 * @param name the database name
 * @param url the JDBC URL
 * @param username the user name
 * @param password the password
 */
public record PostgresDatabase(String name, String url, String username, String password) {

	/**
	 * Open a pooled {@link DataSource} on this database; the caller closes it.
	 * @param poolName the pool's name, seen in {@code pg_stat_activity.application_name}
	 * @param maximumPoolSize the pool size
	 * @return a new pool
	 */
	public HikariDataSource newDataSource(String poolName, int maximumPoolSize) {
		return new HikariDataSource(newPoolConfig(poolName, maximumPoolSize));
	}

	/**
	 * Return the configuration {@link #newDataSource(String, int)} starts a pool with,
	 * for a test that adds to it (a statement timeout, a meter registry) before it starts
	 * the pool.
	 * @param poolName the pool's name, also the connections' application name
	 * @param maximumPoolSize the most connections the pool opens
	 * @return the configuration
	 */
	public HikariConfig newPoolConfig(String poolName, int maximumPoolSize) {
		HikariConfig config = new HikariConfig();
		config.setJdbcUrl(this.url + (this.url.contains("?") ? "&" : "?") + "ApplicationName=" + poolName);
		config.setUsername(this.username);
		config.setPassword(this.password);
		config.setPoolName(poolName);
		config.setMaximumPoolSize(maximumPoolSize);
		config.setMinimumIdle(0);
		return config;
	}

	/**
	 * Open a plain connection outside any pool, for a test's own concurrent session.
	 * @return a new connection
	 * @throws SQLException if the connection cannot be opened
	 */
	public Connection newConnection() throws SQLException {
		return DriverManager.getConnection(this.url, this.username, this.password);
	}

	/**
	 * Return Spring Boot properties that point an application at this database.
	 * @return {@code spring.datasource.*} property values for {@code withPropertyValues}
	 */
	public String[] springProperties() {
		return new String[] { "spring.datasource.url=" + this.url, "spring.datasource.username=" + this.username,
				"spring.datasource.password=" + this.password };
	}

	/**
	 * Run SQL on a short-lived connection.
	 * @param sql the statements
	 */
	public void execute(String sql) {
		try (Connection connection = newConnection()) {
			new JdbcTemplate(new org.springframework.jdbc.datasource.SingleConnectionDataSource(connection, true))
				.execute(sql);
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Drop this database, terminating its sessions.
	 */
	public void drop() {
		EmbeddedPostgresServer.dropDatabase(this.name);
	}

}
