package dev.zdm.test;

import java.util.ArrayList;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * JUnit extension that gives a test class a database of its own on the shared embedded
 * PostgreSQL server, created before the first test and dropped after the last. Register
 * it as a static field: <pre class="code">
 * &#64;RegisterExtension
 * static final PostgresExtension postgres = new PostgresExtension();
 * </pre> A test of an application with databases on two PostgreSQL servers registers a
 * second one on a server of its own, {@link #onServer(String)}.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

	/**
	 * The tag of a test class that needs no database, so that the quick set
	 * ({@code -Dgroups=no-database}) runs without starting one.
	 */
	public static final String NO_DATABASE = "no-database";

	private final String server;

	private final List<HikariDataSource> dataSources = new ArrayList<>();

	private @Nullable PostgresDatabase database;

	private @Nullable HikariDataSource dataSource;

	/**
	 * Create an extension whose database is on the shared server.
	 */
	public PostgresExtension() {
		this(EmbeddedPostgresServer.SHARED);
	}

	private PostgresExtension(String server) {
		this.server = server;
	}

	/**
	 * Create an extension whose database is on the server of the given name, another than
	 * the shared one, started once per test JVM as the shared one (same binaries and
	 * settings) and shared by every test class that names it.
	 * @param server the server's name
	 * @return the extension
	 */
	public static PostgresExtension onServer(String server) {
		return new PostgresExtension(server);
	}

	@Override
	public void beforeAll(ExtensionContext context) {
		if (context.getTags().contains(NO_DATABASE)) {
			throw new IllegalStateException(context.getRequiredTestClass().getName() + " is tagged " + NO_DATABASE
					+ " but asks for a database: remove the tag, or the database");
		}
		this.database = EmbeddedPostgresServer.createDatabase(this.server,
				context.getRequiredTestClass().getSimpleName());
	}

	@Override
	public void afterAll(ExtensionContext context) {
		this.dataSources.forEach(HikariDataSource::close);
		this.dataSources.clear();
		this.dataSource = null;
		if (this.database != null) {
			this.database.drop();
			this.database = null;
		}
	}

	/**
	 * Return this class's database.
	 * @return the database
	 */
	public PostgresDatabase database() {
		if (this.database == null) {
			throw new IllegalStateException("PostgresExtension must be registered as a static field");
		}
		return this.database;
	}

	/**
	 * Return a pool on this class's database, shared by the class's tests.
	 * @return the data source
	 */
	public HikariDataSource dataSource() {
		if (this.dataSource == null) {
			this.dataSource = newDataSource("test", 10);
		}
		return this.dataSource;
	}

	/**
	 * Open a further pool on this class's database, closed after the class's last test.
	 * @param poolName the pool name, also the sessions' application name
	 * @param maximumPoolSize the pool size
	 * @return the data source
	 */
	public HikariDataSource newDataSource(String poolName, int maximumPoolSize) {
		HikariDataSource created = database().newDataSource(poolName, maximumPoolSize);
		this.dataSources.add(created);
		return created;
	}

	/**
	 * Return a {@link JdbcTemplate} on the shared pool.
	 * @return the template
	 */
	public JdbcTemplate jdbc() {
		return new JdbcTemplate(dataSource());
	}

	/**
	 * Return {@code spring.datasource.*} properties for this class's database.
	 * @return property values
	 */
	public String[] springProperties() {
		return database().springProperties();
	}

}
