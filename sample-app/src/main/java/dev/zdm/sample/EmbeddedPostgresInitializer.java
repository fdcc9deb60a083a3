package dev.zdm.sample;

import java.io.File;
import java.io.IOException;
import java.util.Map;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.support.DefaultSingletonBeanRegistry;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Points the sample at an embedded PostgreSQL when no {@code spring.datasource.url} is
 * configured. Its port is {@code sample.postgres.port} (5439 by default). When a database
 * already listens there (one started on its own with {@link SampleDatabase}, or by
 * another instance), the sample joins it; otherwise it starts one in
 * {@code sample.postgres.data-directory} ({@code .data/postgres} by default, kept between
 * runs) and stops it once the application context is closed, after zdm has left the fleet
 * and the connection pool is closed.
 */
class EmbeddedPostgresInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {

	private static final Log logger = LogFactory.getLog(EmbeddedPostgresInitializer.class);

	@Override
	public void initialize(ConfigurableApplicationContext context) {
		ConfigurableEnvironment environment = context.getEnvironment();
		if (environment.containsProperty("spring.datasource.url")) {
			return;
		}
		int port = environment.getProperty("sample.postgres.port", Integer.class, SampleDatabase.DEFAULT_PORT);
		File dataDirectory = new File(
				environment.getProperty("sample.postgres.data-directory", SampleDatabase.DEFAULT_DATA_DIRECTORY));
		EmbeddedPostgres postgres = startUnlessRunning(dataDirectory, port);
		environment.getPropertySources()
			.addFirst(new MapPropertySource("embeddedPostgres",
					Map.of("spring.datasource.url", "jdbc:postgresql://localhost:" + port + "/postgres",
							"spring.datasource.username", "postgres", "spring.datasource.password", "postgres")));
		if (postgres != null) {
			// Registered before any bean, so destroyed after all of them: zdm leaves the
			// fleet and the
			// connection pool closes while the database still runs.
			if (context.getBeanFactory() instanceof DefaultSingletonBeanRegistry registry) {
				registry.registerDisposableBean("sampleEmbeddedPostgres", () -> close(postgres));
			}
			else {
				Runtime.getRuntime().addShutdownHook(new Thread(() -> close(postgres), "sample-database-stop"));
			}
		}
	}

	private static @Nullable EmbeddedPostgres startUnlessRunning(File dataDirectory, int port) {
		if (SampleDatabase.isListening(port)) {
			logger.info("Using the PostgreSQL that already runs on port " + port);
			return null;
		}
		logger.info("No PostgreSQL on port " + port + ": starting one for this instance only; it stops with it");
		return SampleDatabase.start(dataDirectory, port);
	}

	private static void close(EmbeddedPostgres postgres) {
		try {
			postgres.close();
		}
		catch (IOException ex) {
			logger.warn("Could not stop embedded PostgreSQL: " + ex.getMessage());
		}
	}

}
