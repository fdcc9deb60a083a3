package dev.zdm.sample.deploy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatNoException;

/**
 * Tests for what the rolling-deploy script checks before and while it starts an instance
 * of the user's own service, found by an outside run rehearsing one: a port in use, or
 * given twice, was answered by another process and counted as a second healthy instance;
 * both kinds of workload were taken, one silently ignored; only the sample's migrations
 * were paced; a failed start said only "exited while starting".
 */
class RollingDeployChecksTests {

	@TempDir
	Path directory;

	@Test
	void optionsRefuseOnePortTwiceAndTwoWorkloads() {
		assertThatIllegalArgumentException().isThrownBy(() -> new RollingDeploy.Options().set("ports", "18853,18853"))
			.withMessageContaining("2 different ports");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> new RollingDeploy.Options().set("workload-file", "orders.json")
				.set("workload-class", "com.example.Orders"))
			.withMessageContaining("give one of them");
	}

	@Test
	void theBackfillOfTheGivenMigrationsIsPacedUnlessArgumentsAreGiven() {
		RollingDeploy.Options options = new RollingDeploy.Options().set("command", "java -jar orders.jar")
			.set("migrations", "orders-status");
		assertThat(options.instanceArguments())
			.contains("--zdm.fleet.heartbeat-interval=500ms",
					"--zdm.migrations.orders-status.backfill.max-batch-size=500",
					"--zdm.migrations.orders-status.backfill.pause=100ms")
			.noneMatch((argument) -> argument.contains("customers-"));
		assertThat(options.set("args", "--a=1").instanceArguments()).containsExactly("--a=1");
	}

	@Test
	void aPortInUseIsRefusedBeforeAnInstanceStarts() throws IOException {
		try (ServerSocket taken = new ServerSocket()) {
			taken.bind(new InetSocketAddress(0));
			int port = taken.getLocalPort();
			assertThatIllegalStateException().isThrownBy(() -> RollingDeploy.requireFree(port))
				.withMessageContaining("port " + port + " is in use");
			taken.close();
			assertThatNoException().isThrownBy(() -> RollingDeploy.requireFree(port));
		}
	}

	@Test
	void aFailedStartIsToldBySpringBootsDescription() throws IOException {
		Path log = this.directory.resolve("a-1.log");
		Files.writeString(log, """
				2026-12-07 ERROR ... Application run failed

				***************************
				APPLICATION FAILED TO START
				***************************

				Description:

				Migration 'orders-statuz' is not declared: is 'orders-statuz' a misspelling of 'orders-status'?

				Action:

				Correct --migrations.
				""");
		assertThat(RollingDeploy.whyFailed(log.toFile())).isEqualTo(": Migration 'orders-statuz' is not declared: is "
				+ "'orders-statuz' a misspelling of 'orders-status'? Action: Correct --migrations.");
		assertThat(RollingDeploy.whyFailed(this.directory.resolve("none.log").toFile())).isEmpty();
	}

}
