package dev.zdm.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

import dev.zdm.test.PostgresDatabase;

import static org.awaitility.Awaitility.await;

/**
 * A real PgBouncer (the {@code pgbouncer} binary, Debian's package) started on a free
 * port in front of a test's embedded PostgreSQL database, in transaction pooling mode,
 * with a second database alias ({@code <name>_session}) in session mode. The caller stops
 * it.
 */
public final class PgBouncer implements AutoCloseable {

	/** How to install the binary, for the reason a test is skipped. */
	public static final String INSTALL = "apt-get update && apt-get install -y pgbouncer";

	private final Process process;

	private final int port;

	private final PostgresDatabase database;

	private final Path directory;

	private PgBouncer(Process process, int port, PostgresDatabase database, Path directory) {
		this.process = process;
		this.port = port;
		this.database = database;
		this.directory = directory;
	}

	/**
	 * Return the {@code pgbouncer} binary on this machine.
	 * @return its path, or {@code null} if it is not installed
	 */
	public static @Nullable Path binary() {
		String path = System.getenv("PATH");
		List<String> directories = new ArrayList<>(
				(path != null) ? List.of(path.split(File.pathSeparator)) : List.of());
		directories.addAll(List.of("/usr/sbin", "/usr/local/sbin", "/usr/bin"));
		return directories.stream()
			.map((directory) -> Path.of(directory, "pgbouncer"))
			.filter(Files::isExecutable)
			.findFirst()
			.orElse(null);
	}

	/**
	 * Start PgBouncer in front of a database.
	 * @param binary the {@code pgbouncer} binary
	 * @param database the database
	 * @return the running PgBouncer
	 */
	public static PgBouncer start(Path binary, PostgresDatabase database) {
		return start(binary, database, "");
	}

	/**
	 * Start PgBouncer in front of a database, with settings of its own.
	 * @param binary the {@code pgbouncer} binary
	 * @param database the database
	 * @param settings lines added to its {@code [pgbouncer]} section, such as
	 * {@code server_round_robin = 1}
	 * @return the running PgBouncer
	 */
	public static PgBouncer start(Path binary, PostgresDatabase database, String settings) {
		try {
			URI server = URI.create(database.url().substring("jdbc:".length()));
			int port = freePort();
			Path directory = Files.createTempDirectory("zdm-pgbouncer");
			// PgBouncer refuses to run as root; it then switches to nobody, who must read
			// and write here.
			Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxrwxrwx"));
			String target = "host=127.0.0.1 port=" + server.getPort() + " dbname=" + database.name() + " user="
					+ database.username() + " password=" + database.password();
			String ini = """
					[databases]
					%1$s = %2$s
					%1$s_session = %2$s pool_mode=session
					%1$s_single = %2$s pool_size=1
					%1$s_pair = %2$s pool_size=2 min_pool_size=2

					[pgbouncer]
					listen_addr = 127.0.0.1
					listen_port = %3$d
					unix_socket_dir =
					auth_type = any
					pool_mode = transaction
					default_pool_size = 4
					ignore_startup_parameters = extra_float_digits,options
					logfile = %4$s/pgbouncer.log
					pidfile = %4$s/pgbouncer.pid
					%5$s
					""".formatted(database.name(), target, port, directory, settings);
			Path config = directory.resolve("pgbouncer.ini");
			Files.writeString(config, ini);
			Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
			List<String> command = new ArrayList<>(List.of(binary.toString()));
			if ("root".equals(System.getProperty("user.name"))) {
				command.addAll(List.of("-u", "nobody"));
			}
			command.add(config.toString());
			Process process = new ProcessBuilder(command).redirectErrorStream(true)
				.redirectOutput(directory.resolve("stdout").toFile())
				.start();
			PgBouncer pgBouncer = new PgBouncer(process, port, database, directory);
			await().atMost(Duration.ofSeconds(20)).until(() -> {
				if (!process.isAlive()) {
					throw new IllegalStateException("PgBouncer exited: " + pgBouncer.log());
				}
				return accepts(port);
			});
			return pgBouncer;
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/**
	 * Return the JDBC URL of the database through PgBouncer in transaction mode.
	 * @return the URL
	 */
	public String transactionModeUrl() {
		return url(this.database.name());
	}

	/**
	 * Return the JDBC URL of the database through PgBouncer in transaction mode with a
	 * pool of one server connection.
	 * @return the URL
	 */
	public String singleServerTransactionModeUrl() {
		return url(this.database.name() + "_single");
	}

	/**
	 * Return the JDBC URL of the database through PgBouncer in transaction mode with a
	 * pool of two server connections, both kept open.
	 * @return the URL
	 */
	public String pairTransactionModeUrl() {
		return url(this.database.name() + "_pair");
	}

	/**
	 * Return the JDBC URL of the database through PgBouncer in session mode.
	 * @return the URL
	 */
	public String sessionModeUrl() {
		return url(this.database.name() + "_session");
	}

	/**
	 * Return PgBouncer's log, for failure messages.
	 * @return the log
	 */
	public String log() {
		try (Stream<Path> files = Stream.of(this.directory.resolve("pgbouncer.log"),
				this.directory.resolve("stdout"))) {
			StringBuilder log = new StringBuilder();
			for (Path file : files.filter(Files::exists).toList()) {
				log.append(Files.readString(file));
			}
			return log.toString();
		}
		catch (IOException ex) {
			return ex.toString();
		}
	}

	@Override
	public void close() {
		this.process.destroy();
	}

	// Named server-side prepared statements do not survive a transaction pooler before
	// PgBouncer 1.21: the driver uses unnamed ones.
	private String url(String name) {
		return "jdbc:postgresql://127.0.0.1:" + this.port + "/" + name + "?prepareThreshold=0";
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	private static boolean accepts(int port) {
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

}
