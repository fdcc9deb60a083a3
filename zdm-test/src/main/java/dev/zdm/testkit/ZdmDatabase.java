package dev.zdm.testkit;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * A PostgreSQL database of its own for one test, on Testcontainers or embedded
 * PostgreSQL, dropped when closed.
 */
public final class ZdmDatabase implements AutoCloseable {

	private final String url;

	private final String username;

	private final String password;

	private final String description;

	private final Runnable drop;

	private final DataSource dataSource;

	ZdmDatabase(String url, String username, String password, String description, Runnable drop) {
		this.url = url;
		this.username = username;
		this.password = password;
		this.description = description;
		this.drop = drop;
		this.dataSource = new DriverManagerDataSource(url, username, password);
	}

	/**
	 * Return the JDBC URL.
	 * @return the URL
	 */
	public String url() {
		return this.url;
	}

	/**
	 * Return the user name.
	 * @return the user name
	 */
	public String username() {
		return this.username;
	}

	/**
	 * Return the password.
	 * @return the password
	 */
	public String password() {
		return this.password;
	}

	/**
	 * Return where the database runs, for messages: for example
	 * {@code embedded PostgreSQL} or {@code Testcontainers postgres:18-alpine}.
	 * @return the description
	 */
	public String description() {
		return this.description;
	}

	/**
	 * Return the {@code spring.datasource.*} properties that point an application at this
	 * database, as a service connection would, and zdm's DDL at the same user: a
	 * {@code spring.flyway.user} or {@code zdm.ddl.user} of the application's own
	 * configuration would run the DDL as a role the test database does not have, or that
	 * owns none of its tables.
	 * @return {@code key=value} pairs
	 */
	public String[] springProperties() {
		return new String[] { "spring.datasource.url=" + this.url, "spring.datasource.username=" + this.username,
				"spring.datasource.password=" + this.password, "zdm.ddl.user=" + this.username,
				"zdm.ddl.password=" + this.password };
	}

	/**
	 * Return an unpooled data source on this database, for the test's own statements.
	 * @return the data source
	 */
	public DataSource dataSource() {
		return this.dataSource;
	}

	/**
	 * Return a {@link JdbcTemplate} on {@link #dataSource()}.
	 * @return the template
	 */
	public JdbcTemplate jdbc() {
		return new JdbcTemplate(this.dataSource);
	}

	/**
	 * Drop the database, ending its sessions.
	 */
	@Override
	public void close() {
		this.drop.run();
	}

	@Override
	public String toString() {
		return this.url + " (" + this.description + ")";
	}

}
