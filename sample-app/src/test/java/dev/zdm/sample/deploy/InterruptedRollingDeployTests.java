package dev.zdm.sample.deploy;

import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.zdm.sample.SampleApplication;
import dev.zdm.test.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rolling-deploy script interrupted midway (a CI job cancelled, {@code kill}, Ctrl-C)
 * stops what it started: before, it left its two instances running and its DDL event
 * trigger in the user's database, and the next run found the ports taken.
 */
class InterruptedRollingDeployTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void anInterruptedRunStopsItsInstancesAndRemovesItsEventTrigger() throws Exception {
		String[] database = postgres.springProperties();
		int[] ports = { freePort(), freePort() };
		List<String> command = new ArrayList<>(
				List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
						System.getProperty("java.class.path"), RollingDeploy.class.getName()));
		command.addAll(List.of("--command=" + String.join(" ", InstanceJvm.command(SampleApplication.class)),
				"--args=--server.address=127.0.0.1 --zdm.fleet.heartbeat-interval=500ms --logging.level.root=warn",
				"--cds=false", "--migrations=customers-email", "--ports=" + ports[0] + "," + ports[1],
				"--jdbc-url=" + value(database[0]), "--jdbc-user=" + value(database[1]),
				"--jdbc-password=" + value(database[2]), "--rate=20", "--seed-rows=100", "--warm-up-requests=10",
				"--dwell=600s", "--start-timeout=300s",
				"--work-dir=" + new File("target/interrupted-rolling-deploy").getAbsolutePath()));
		// A file, not a pipe: destroy() closes the pipe before the run's last lines.
		Path log = Path.of("target", "interrupted-rolling-deploy.log").toAbsolutePath();
		Process deploy = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
		List<ProcessHandle> instances = List.of();
		try {
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
			while (!Files.readString(log).contains("traffic at")) {
				assertThat(deploy.isAlive()).as("the run is alive: %s", Files.readString(log)).isTrue();
				assertThat(System.nanoTime()).as("traffic started: %s", Files.readString(log)).isLessThan(deadline);
				Thread.sleep(200);
			}
			instances = deploy.descendants().toList();
			assertThat(instances).as("the two instances").hasSizeGreaterThanOrEqualTo(2);
			assertThat(eventTriggers()).as("the run observes DDL through its event trigger").isOne();

			deploy.destroy();
			assertThat(deploy.waitFor(120, TimeUnit.SECONDS)).as("the interrupted run ends").isTrue();
			assertThat(instances).as("instances left running").noneMatch(ProcessHandle::isAlive);
			assertThat(eventTriggers()).as("event triggers left in the database").isZero();
			assertThat(postgres.jdbc()
				.queryForObject("SELECT count(*) FROM pg_namespace WHERE nspname = 'rolling_deploy'", Long.class))
				.isZero();
			for (int port : ports) {
				RollingDeploy.requireFree(port);
			}
			assertThat(Files.readString(log)).contains("interrupted: stopping the instances");
		}
		finally {
			// without the run's own clean-up, its instances outlive it
			instances.forEach(ProcessHandle::destroyForcibly);
			deploy.descendants().forEach(ProcessHandle::destroyForcibly);
			deploy.destroyForcibly();
		}
	}

	private static Long eventTriggers() {
		return postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_event_trigger WHERE evtname = 'rolling_deploy_ddl'", Long.class);
	}

	private static String value(String property) {
		return property.substring(property.indexOf('=') + 1);
	}

	private static int freePort() throws java.io.IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
