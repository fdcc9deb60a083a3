package dev.zdm.sample;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for the shutdown of a sample instance that runs its own embedded PostgreSQL: zdm
 * leaves the fleet, and the connection pool closes, while the database still runs; the
 * database stops last.
 */
@ExtendWith(OutputCaptureExtension.class)
@Isolated
class EmbeddedPostgresShutdownTests {

	@Test
	void instanceLeavesTheFleetBeforeItsEmbeddedDatabaseStops(@TempDir Path data, CapturedOutput output)
			throws IOException {
		int port = freePort();
		ConfigurableApplicationContext context = run("--sample.postgres.port=" + port,
				"--sample.postgres.data-directory=" + data.resolve("postgres"));
		assertThat(SampleDatabase.isListening(port)).as("embedded database started by the instance").isTrue();
		context.close();
		String log = output.getOut() + output.getErr();
		assertThat(log).contains("left the fleet").doesNotContain("could not leave the fleet");
		assertThat(log.indexOf("left the fleet")).as("zdm leaves before the database stops")
			.isLessThan(log.indexOf("shut down postmaster"));
		assertThat(log).as("no stack trace").doesNotContain("\tat ");
		assertThat(SampleDatabase.isListening(port)).as("embedded database stopped with the instance").isFalse();
	}

	@Test
	void instanceJoinsARunningDatabaseAndLeavesItRunning(@TempDir Path data, CapturedOutput output) throws IOException {
		int port = freePort();
		try (var database = new AutoCloseableDatabase(SampleDatabase.start(data.resolve("postgres").toFile(), port))) {
			run("--sample.postgres.port=" + port).close();
			assertThat(output.getOut()).contains("Using the PostgreSQL that already runs on port " + port)
				.contains("left the fleet");
			assertThat(SampleDatabase.isListening(port)).as("the database outlives the instance").isTrue();
		}
	}

	private static ConfigurableApplicationContext run(String... arguments) {
		SpringApplication application = new SpringApplication(SampleApplication.class);
		application.addInitializers(new EmbeddedPostgresInitializer());
		application.setDefaultProperties(java.util.Map.of("server.port", "0", "spring.main.banner-mode", "off"));
		return application.run(arguments);
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

	private record AutoCloseableDatabase(
			io.zonky.test.db.postgres.embedded.EmbeddedPostgres postgres) implements AutoCloseable {

		@Override
		public void close() throws IOException {
			this.postgres.close();
		}

	}

}
