package dev.zdm.sample;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Starts an embedded PostgreSQL for the sample when no {@code spring.datasource.url} is configured. Its data
 * directory ({@code sample.postgres.data-directory}, {@code .data/postgres} by default) is kept between runs, so
 * a phase can be changed between two runs; its port is {@code sample.postgres.port} (5439 by default), so several
 * instances of the sample share one database: the first one to start runs it.
 */
class EmbeddedPostgresInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {

	private static final Log logger = LogFactory.getLog(EmbeddedPostgresInitializer.class);

	@Override
	public void initialize(ConfigurableApplicationContext context) {
		ConfigurableEnvironment environment = context.getEnvironment();
		if (environment.containsProperty("spring.datasource.url")) {
			return;
		}
		int port = environment.getProperty("sample.postgres.port", Integer.class, 5439);
		File dataDirectory = new File(environment.getProperty("sample.postgres.data-directory", ".data/postgres"));
		EmbeddedPostgres postgres = startUnlessRunning(dataDirectory, port);
		environment.getPropertySources()
			.addFirst(new MapPropertySource("embeddedPostgres",
					Map.of("spring.datasource.url", "jdbc:postgresql://localhost:" + port + "/postgres",
							"spring.datasource.username", "postgres", "spring.datasource.password", "postgres")));
		if (postgres != null) {
			context.addApplicationListener((ApplicationListener<ContextClosedEvent>) (event) -> close(postgres));
		}
	}

	private static @Nullable EmbeddedPostgres startUnlessRunning(File dataDirectory, int port) {
		if (isListening(port)) {
			logger.info("Using the embedded PostgreSQL another sample instance runs on port " + port);
			return null;
		}
		try {
			EmbeddedPostgres postgres = EmbeddedPostgres.builder()
				.setDataDirectory(dataDirectory)
				.setCleanDataDirectory(false)
				.setPort(port)
				.start();
			logger.info("Started embedded PostgreSQL on port " + port + " with data in " + dataDirectory.getAbsolutePath());
			return postgres;
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not start embedded PostgreSQL in " + dataDirectory, ex);
		}
	}

	private static boolean isListening(int port) {
		try (java.net.Socket socket = new java.net.Socket("localhost", port)) {
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

	private static void close(EmbeddedPostgres postgres) {
		try {
			postgres.close();
		}
		catch (IOException ex) {
			logger.warn("Could not stop embedded PostgreSQL", ex);
		}
	}

}
