package dev.zdm.sample;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * The sample's embedded PostgreSQL on its own, so that the database outlives every
 * instance of the sample:
 * {@code java -jar sample-app.jar database [--sample.postgres.port=5439]
 * [--sample.postgres.data-directory=.data/postgres]}. It runs until the process is
 * stopped (Ctrl-C).
 */
final class SampleDatabase {

	static final int DEFAULT_PORT = 5439;

	static final String DEFAULT_DATA_DIRECTORY = ".data/postgres";

	private static final Log logger = LogFactory.getLog(SampleDatabase.class);

	private SampleDatabase() {
	}

	static void run(String[] args) throws InterruptedException {
		StandardEnvironment environment = new StandardEnvironment();
		environment.getPropertySources().addFirst(new SimpleCommandLinePropertySource(args));
		int port = environment.getProperty("sample.postgres.port", Integer.class, DEFAULT_PORT);
		File dataDirectory = new File(
				environment.getProperty("sample.postgres.data-directory", DEFAULT_DATA_DIRECTORY));
		if (isListening(port)) {
			System.err.println("Something already listens on port " + port
					+ ": stop it, or pass --sample.postgres.port=<another port> here and to every instance.");
			System.exit(1);
		}
		EmbeddedPostgres postgres = start(dataDirectory, port);
		CountDownLatch stopped = new CountDownLatch(1);
		Runtime.getRuntime().addShutdownHook(new Thread(() -> {
			try {
				postgres.close();
				logger.info("Stopped embedded PostgreSQL on port " + port);
			}
			catch (IOException ex) {
				logger.warn("Could not stop embedded PostgreSQL: " + ex.getMessage());
			}
			stopped.countDown();
		}, "sample-database-stop"));
		logger.info("Embedded PostgreSQL runs on port " + port + " (database postgres, user postgres, password "
				+ "postgres); start instances with --sample.postgres.port=" + port + " (the default is " + DEFAULT_PORT
				+ "). Ctrl-C stops it.");
		stopped.await();
	}

	/**
	 * Start an embedded PostgreSQL that keeps its data between runs. Its caller stops it:
	 * no shutdown hook of its own races the application's shutdown.
	 * @param dataDirectory the data directory
	 * @param port the port
	 * @return the running database
	 */
	static EmbeddedPostgres start(File dataDirectory, int port) {
		try {
			EmbeddedPostgres postgres = EmbeddedPostgres.builder()
				.setDataDirectory(dataDirectory)
				.setCleanDataDirectory(false)
				.setPort(port)
				.setRegisterShutdownHook(false)
				.start();
			logger.info(
					"Started embedded PostgreSQL on port " + port + " with data in " + dataDirectory.getAbsolutePath());
			return postgres;
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not start embedded PostgreSQL in " + dataDirectory, ex);
		}
	}

	static boolean isListening(int port) {
		try (Socket socket = new Socket("localhost", port)) {
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

}
