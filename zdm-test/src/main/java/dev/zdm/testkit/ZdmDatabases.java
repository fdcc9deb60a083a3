package dev.zdm.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.JdbcDatabaseContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;

import org.springframework.boot.SpringApplication;
import org.springframework.util.ClassUtils;

import dev.zdm.test.EmbeddedPostgresServer;
import dev.zdm.test.PostgresDatabase;

/**
 * Creates a database of its own for each test: in a Testcontainers PostgreSQL container
 * (one per image and test JVM) when Docker is available, else on an embedded PostgreSQL
 * server (one per test JVM), or on a PostgreSQL server you run (a CI job's service
 * database) when {@code zdm.test.postgres-url} names it.
 * <p>
 * The system properties {@code zdm.test.postgres} ({@code auto}, {@code testcontainers}
 * or {@code embedded}) and {@code zdm.test.postgres-image} override what {@link ZdmTest}
 * says. {@code zdm.test.postgres-url}, {@code zdm.test.postgres-username} and
 * {@code zdm.test.postgres-password} (or the environment variables
 * {@code ZDM_TEST_POSTGRES_URL}, {@code ZDM_TEST_POSTGRES_USERNAME} and
 * {@code ZDM_TEST_POSTGRES_PASSWORD}) name a server to use instead of Testcontainers and
 * the embedded server, wherever a test does not ask for a container ({@code AUTO},
 * {@code EMBEDDED}); its user must be allowed to create databases.
 */
public final class ZdmDatabases {

	/** The image used when none is configured. */
	public static final String DEFAULT_IMAGE = "postgres:18-alpine";

	private static final Log logger = LogFactory.getLog(ZdmDatabases.class);

	private static final boolean testcontainersPresent = ClassUtils
		.isPresent("org.testcontainers.postgresql.PostgreSQLContainer", ZdmDatabases.class.getClassLoader());

	private static final AtomicInteger counter = new AtomicInteger();

	private static final String JVM_TOKEN = Long.toString(new SecureRandom().nextLong(36L * 36 * 36 * 36 * 36), 36);

	private static volatile @Nullable String dockerUnavailable;

	private static volatile boolean dockerChecked;

	private ZdmDatabases() {
	}

	/**
	 * Create a database.
	 * @param source where PostgreSQL should come from, unless the
	 * {@code zdm.test.postgres} system property says otherwise
	 * @param image the container image for Testcontainers, unless
	 * {@code zdm.test.postgres-image} says otherwise
	 * @param hint a readable part of the database name, typically the test's name
	 * @return a new, empty database
	 * @throws org.opentest4j.TestAbortedException if Testcontainers is required but
	 * cannot run
	 */
	public static ZdmDatabase create(PostgresSource source, String image, String hint) {
		PostgresSource effective = configuredSource(source);
		Server server = Server.configured();
		if (server != null && effective != PostgresSource.TESTCONTAINERS) {
			return server.create(hint);
		}
		String effectiveImage = System.getProperty("zdm.test.postgres-image", image);
		if (effective == PostgresSource.TESTCONTAINERS) {
			String skipped = whySkipped(source, image);
			Assumptions.assumeTrue(skipped == null, skipped);
			return Containers.create(effectiveImage, hint);
		}
		if (effective == PostgresSource.AUTO) {
			String reason = whyTestcontainersCannotRun();
			if (reason == null) {
				return Containers.create(effectiveImage, hint);
			}
			logger.info("zdm test kit: using embedded PostgreSQL, not Testcontainers: " + reason);
		}
		return embedded(hint);
	}

	/**
	 * Create a database for a test class: on the PostgreSQL container the class defines
	 * for Spring Boot ({@code @ServiceConnection} or {@code @ImportTestcontainers}) when
	 * there is one, unless embedded PostgreSQL is asked for; else as
	 * {@link #create(PostgresSource, String, String)} does.
	 * @param testClass the test class
	 * @param source where PostgreSQL should come from
	 * @param image the container image for Testcontainers
	 * @param hint a readable part of the database name
	 * @return a new, empty database
	 * @throws org.opentest4j.TestAbortedException if the class's container or
	 * Testcontainers is required but cannot run
	 */
	static ZdmDatabase create(Class<?> testClass, PostgresSource source, String image, String hint) {
		String definition = containerDefinition(testClass);
		if (definition != null && configuredSource(source) != PostgresSource.EMBEDDED) {
			String skipped = whySkipped(testClass, source, image);
			Assumptions.assumeTrue(skipped == null, skipped);
			return Containers.create(testClass, hint);
		}
		return create(source, image, hint);
	}

	/**
	 * Describe the PostgreSQL container a test class defines for Spring Boot.
	 * @param testClass the test class
	 * @return the definition, or {@code null} if it defines none or Testcontainers is
	 * absent
	 */
	static @Nullable String containerDefinition(Class<?> testClass) {
		return testcontainersPresent ? Containers.definition(testClass) : null;
	}

	/**
	 * Return why a test class cannot run here: it walks on a container (its own
	 * definition, or Testcontainers is required) and Docker is not available.
	 * @param testClass the test class
	 * @param source where PostgreSQL should come from
	 * @param image the container image
	 * @return the reason, or {@code null} if it can run
	 */
	static @Nullable String whySkipped(Class<?> testClass, PostgresSource source, String image) {
		String definition = containerDefinition(testClass);
		if (definition == null || configuredSource(source) == PostgresSource.EMBEDDED) {
			return whySkipped(source, image);
		}
		String reason = whyTestcontainersCannotRun();
		return (reason != null)
				? "The walk runs on " + definition + " of the test class, skipped: " + reason
						+ ". Without Docker, run with -Dzdm.test.postgres=embedded to walk on embedded PostgreSQL."
				: null;
	}

	/**
	 * Return why tests that need this source cannot run here: Testcontainers is required
	 * but cannot run.
	 * @param source where PostgreSQL should come from, unless {@code zdm.test.postgres}
	 * says otherwise
	 * @param image the container image, unless {@code zdm.test.postgres-image} says
	 * otherwise
	 * @return the reason, or {@code null} if they can run
	 */
	public static @Nullable String whySkipped(PostgresSource source, String image) {
		if (configuredSource(source) != PostgresSource.TESTCONTAINERS) {
			return null;
		}
		String reason = whyTestcontainersCannotRun();
		return (reason != null)
				? "Testcontainers PostgreSQL (" + System.getProperty("zdm.test.postgres-image", image) + ") skipped: "
						+ reason
						+ ". Without Docker the kit runs on embedded PostgreSQL (PostgresSource.AUTO or EMBEDDED)."
				: null;
	}

	/**
	 * Return why the Testcontainers path cannot run here.
	 * @return the reason, or {@code null} if Testcontainers is on the classpath and
	 * Docker is available
	 */
	public static @Nullable String whyTestcontainersCannotRun() {
		if (!testcontainersPresent) {
			return "org.testcontainers:testcontainers-postgresql is not on the test classpath";
		}
		if (!dockerChecked) {
			synchronized (ZdmDatabases.class) {
				if (!dockerChecked) {
					dockerUnavailable = Containers.whyDockerIsUnavailable();
					dockerChecked = true;
				}
			}
		}
		return dockerUnavailable;
	}

	private static PostgresSource configuredSource(PostgresSource source) {
		String property = System.getProperty("zdm.test.postgres");
		if (property == null || property.isBlank()) {
			return source;
		}
		try {
			return PostgresSource.valueOf(property.trim().toUpperCase());
		}
		catch (IllegalArgumentException ex) {
			throw new IllegalArgumentException(
					"System property zdm.test.postgres is '" + property + "'; use auto, testcontainers or embedded",
					ex);
		}
	}

	private static ZdmDatabase embedded(String hint) {
		// the test contexts Spring keeps close at the JVM's exit, leaving zdm's fleet in
		// their database: the server stops after them
		EmbeddedPostgresServer.stopAfter(SpringApplication.getShutdownHandlers()::add);
		PostgresDatabase database = EmbeddedPostgresServer.createDatabase("zdm_" + hint);
		return new ZdmDatabase(database.url(), database.username(), database.password(), "embedded PostgreSQL",
				database::drop);
	}

	/**
	 * A PostgreSQL server named by {@code zdm.test.postgres-url}.
	 */
	private record Server(String url, String username, String password) {

		private static final Set<String> logged = ConcurrentHashMap.newKeySet();

		static @Nullable Server configured() {
			String url = setting("zdm.test.postgres-url", "ZDM_TEST_POSTGRES_URL");
			if (url == null) {
				return null;
			}
			if (!url.matches("jdbc:postgresql://[^/?]+/[^?]+(\\?.*)?")) {
				throw new IllegalArgumentException("zdm.test.postgres-url is '" + url
						+ "'; give the JDBC URL of a database on the server, such as "
						+ "jdbc:postgresql://localhost:5432/postgres (its user must be allowed to create databases)");
			}
			String username = setting("zdm.test.postgres-username", "ZDM_TEST_POSTGRES_USERNAME");
			String password = setting("zdm.test.postgres-password", "ZDM_TEST_POSTGRES_PASSWORD");
			Server server = new Server(url, (username != null) ? username : "postgres",
					(password != null) ? password : "");
			if (logged.add(url)) {
				logger.info("zdm test kit: using PostgreSQL at " + url + " as " + server.username
						+ " (zdm.test.postgres-url), a database of its own there for each test");
			}
			return server;
		}

		private static @Nullable String setting(String property, String environmentVariable) {
			String value = System.getProperty(property);
			if (value == null || value.isBlank()) {
				value = System.getenv(environmentVariable);
			}
			return (value == null || value.isBlank()) ? null : value.trim();
		}

		ZdmDatabase create(String hint) {
			String name = databaseName(hint);
			execute("CREATE DATABASE \"" + name + "\"");
			// the server's URL with the new database in place of the one it names
			String url = this.url.replaceFirst("^(jdbc:postgresql://[^/?]*/)[^?]*", "$1" + name);
			return new ZdmDatabase(url, this.username, this.password, "PostgreSQL at " + this.url,
					() -> execute("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)"));
		}

		private void execute(String sql) {
			try (Connection connection = DriverManager.getConnection(this.url, this.username, this.password);
					Statement statement = connection.createStatement()) {
				statement.execute(sql);
			}
			catch (SQLException ex) {
				throw new IllegalStateException("Could not run '" + sql + "' on " + this.url
						+ " (zdm.test.postgres-url) as " + this.username + ": " + ex.getMessage()
						+ ("42501".equals(ex.getSQLState())
								? ". The kit creates a database of its own there for each test: its user needs CREATEDB."
								: ". Check zdm.test.postgres-url, zdm.test.postgres-username and "
										+ "zdm.test.postgres-password (or ZDM_TEST_POSTGRES_URL, _USERNAME, _PASSWORD)."),
						ex);
			}
		}

	}

	/**
	 * Return the name of a new database: {@code zdm_}, the end of the hint, a token of
	 * this JVM's own and a number, so that test JVMs sharing a server (two builds, forks)
	 * and databases a killed run left behind do not clash.
	 */
	static String databaseName(String hint) {
		String lower = hint.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
		String tail = (lower.length() > 36) ? lower.substring(lower.length() - 36) : lower;
		return "zdm_" + tail + "_" + JVM_TOKEN + "_" + counter.incrementAndGet();
	}

	/**
	 * The Testcontainers path, in a class of its own so that nothing loads Testcontainers
	 * when it is absent.
	 */
	private static final class Containers {

		private static final Map<String, PostgreSQLContainer> containers = new ConcurrentHashMap<>();

		private static @Nullable String whyDockerIsUnavailable() {
			try {
				return DockerClientFactory.instance().isDockerAvailable() ? null : "no Docker environment is available";
			}
			catch (RuntimeException | LinkageError ex) {
				return "Docker could not be reached: " + ex.getMessage();
			}
		}

		private static @Nullable String definition(Class<?> testClass) {
			UserContainers.Definition definition = UserContainers.find(testClass);
			return (definition != null) ? definition.toString() : null;
		}

		private static ZdmDatabase create(Class<?> testClass, String hint) {
			UserContainers.Definition definition = UserContainers.find(testClass);
			if (definition == null) {
				throw new IllegalStateException(testClass.getName() + " defines no PostgreSQL container");
			}
			JdbcDatabaseContainer<?> container = definition.container();
			synchronized (container) {
				if (!container.isRunning()) {
					container.start();
				}
			}
			return create(container, definition.description(), hint);
		}

		private static ZdmDatabase create(String image, String hint) {
			return create(containers.computeIfAbsent(image, Containers::start), "Testcontainers " + image, hint);
		}

		private static ZdmDatabase create(JdbcDatabaseContainer<?> container, String description, String hint) {
			String name = databaseName(hint);
			execute(container, "CREATE DATABASE \"" + name + "\"");
			String url = container.getJdbcUrl()
				.replaceFirst("/" + container.getDatabaseName() + "(\\?|$)", "/" + name + "$1");
			return new ZdmDatabase(url, container.getUsername(), container.getPassword(), description,
					() -> execute(container, "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)"));
		}

		private static PostgreSQLContainer start(String image) {
			PostgreSQLContainer container = new PostgreSQLContainer(image).withCommand("postgres", "-c",
					"max_connections=300", "-c", "fsync=off", "-c", "synchronous_commit=off");
			container.start();
			Runtime.getRuntime().addShutdownHook(new Thread(container::stop, "zdm-test-postgres-stop"));
			return container;
		}

		private static void execute(JdbcDatabaseContainer<?> container, String sql) {
			try (Connection connection = DriverManager.getConnection(container.getJdbcUrl(), container.getUsername(),
					container.getPassword()); Statement statement = connection.createStatement()) {
				statement.execute(sql);
			}
			catch (SQLException ex) {
				throw new IllegalStateException("Could not run '" + sql + "' on " + container.getJdbcUrl(), ex);
			}
		}

	}

}
