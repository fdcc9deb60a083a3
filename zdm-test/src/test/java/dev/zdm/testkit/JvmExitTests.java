package dev.zdm.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Tests that a JVM whose Spring test contexts got their databases from the kit's embedded
 * PostgreSQL exits at once, each cached context leaving zdm's fleet before the server
 * stops: the server once stopped beside them, and each waited 5 s for a database that was
 * gone, with errors in the log.
 */
class JvmExitTests {

	@Test
	void cachedContextsCloseBeforeTheEmbeddedServerStops(@TempDir Path directory) throws Exception {
		Path log = directory.resolve("jvm.log");
		List<String> command = new ArrayList<>(
				List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
						"-cp", System.getProperty("java.class.path")));
		System.getProperties()
			.stringPropertyNames()
			.stream()
			.filter((name) -> name.startsWith("zdm.test."))
			.forEach((name) -> command.add("-D" + name + "=" + System.getProperty(name)));
		command.addAll(List.of(RunAndExit.class.getName(), SpringBootTestPhaseTests.class.getName(),
				SpringBootTestDatabaseTests.class.getName()));
		Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
		assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("the JVM exited").isTrue();
		long exited = System.currentTimeMillis();
		String output = Files.readString(log);
		String done = output.lines()
			.filter((line) -> line.startsWith(RunAndExit.DONE))
			.findFirst()
			.orElseThrow(() -> new AssertionError("no line saying the tests ran in:\n" + output));
		assertThat(done).as(output).contains("2 succeeded, 0 failed");
		long doneAt = Long.parseLong(done.substring(done.lastIndexOf(' ') + 1));
		// two contexts, each of which waited 5 s to leave the fleet
		assertThat(exited - doneAt).as("milliseconds from the tests' end to the JVM's exit:\n%s", output)
			.isLessThan(4_000);
		assertThat(output).doesNotContain("could not leave the fleet").doesNotContain("Destruction of bean");
	}

	/**
	 * Runs test classes, says when they are done, and lets the JVM exit.
	 */
	static final class RunAndExit {

		static final String DONE = "tests done: ";

		public static void main(String[] args) throws ClassNotFoundException {
			LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
			for (String name : args) {
				request.selectors(selectClass(Class.forName(name)));
			}
			LauncherDiscoveryRequest discovery = request.build();
			SummaryGeneratingListener summary = new SummaryGeneratingListener();
			LauncherFactory.create().execute(discovery, summary);
			System.out.println(DONE + summary.getSummary().getTestsSucceededCount() + " succeeded, "
					+ summary.getSummary().getTotalFailureCount() + " failed at " + System.currentTimeMillis());
		}

	}

}
