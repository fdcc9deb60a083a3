package dev.zdm.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import dev.zdm.test.EmbeddedPostgresServer;

/**
 * A PostgreSQL server of a test's own, in a data directory that outlives it, so that the
 * test can stop it and start it again on the same port with the same data, as a database
 * restart; and a pool on it as an application's.
 */
public final class RestartablePostgres {

	/**
	 * The resource lock of the test classes that restart a server of their own: they run
	 * beside other classes, but one at a time, so that none takes the port another's
	 * server left for its restart.
	 */
	public static final String LOCK = "restartable-postgres";

	private RestartablePostgres() {
	}

	/**
	 * Start the server, or start it again, on its data directory.
	 * @param dataDirectory the data directory, created on the first start
	 * @param port the port, the same at each start
	 * @return the running server; {@code close()} stops it
	 * @throws IOException if it cannot start
	 */
	public static EmbeddedPostgres start(Path dataDirectory, int port) throws IOException {
		Files.createDirectories(dataDirectory);
		EmbeddedPostgresServer.prepareDataDirectory(dataDirectory);
		return EmbeddedPostgres.builder()
			.setDataDirectory(dataDirectory)
			.setCleanDataDirectory(false)
			.setPort(port)
			.setServerConfig("fsync", "off")
			.start();
	}

	/**
	 * Create a pool on the server that keeps no idle connection.
	 * @param server the server
	 * @param maximumPoolSize the most connections
	 * @param connectionTimeout how long a borrower waits for a connection
	 * @return the pool
	 */
	public static HikariDataSource dataSource(EmbeddedPostgres server, int maximumPoolSize,
			Duration connectionTimeout) {
		HikariConfig config = new HikariConfig();
		config.setJdbcUrl(server.getJdbcUrl("postgres", "postgres"));
		config.setUsername("postgres");
		config.setPassword("postgres");
		config.setMaximumPoolSize(maximumPoolSize);
		config.setMinimumIdle(0);
		config.setConnectionTimeout(connectionTimeout.toMillis());
		return new HikariDataSource(config);
	}

	/**
	 * Return a port no server listens on now.
	 * @return the port
	 * @throws IOException if none can be found
	 */
	public static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
