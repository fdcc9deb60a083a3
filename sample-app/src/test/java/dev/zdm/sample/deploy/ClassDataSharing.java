package dev.zdm.sample.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A class data sharing archive of an application: a training run makes it, and the
 * instances started with it load their classes for less CPU. {@link InstanceJvm} (a
 * test's instances) and {@link RollingDeploy} (a deploy's) make theirs here, each with
 * its own command and arguments.
 * <p>
 * The training run exits once its context is refreshed, and runs with zdm disabled, so
 * that it takes no part in a fleet, and on a free port, so that it can run beside the
 * instances.
 */
final class ClassDataSharing {

	private ClassDataSharing() {
	}

	/**
	 * Run the application once to make the archive.
	 * @param java {@code java} and the options the instances start with
	 * @param launch what the JVM starts: {@code -cp <path> <main class>} or
	 * {@code -jar <jar>}
	 * @param arguments the application's arguments (its database, logging...)
	 * @param archive the archive to make
	 * @param log where the run's output goes
	 * @param timeout how long the run may take
	 * @return {@code true} if the run ended in time and made the archive; of the run, the
	 * archive is what counts, not its exit status
	 * @throws IOException if the run could not be started
	 * @throws InterruptedException if interrupted while waiting for the run
	 */
	static boolean train(List<String> java, List<String> launch, List<String> arguments, Path archive, Path log,
			Duration timeout) throws IOException, InterruptedException {
		List<String> training = new ArrayList<>(java);
		training.addAll(List.of("-XX:ArchiveClassesAtExit=" + archive, "-Dspring.context.exit=onRefresh"));
		training.addAll(launch);
		training.addAll(arguments);
		training.addAll(List.of("--zdm.enabled=false", "--server.port=0"));
		Process process = new ProcessBuilder(training).redirectErrorStream(true).redirectOutput(log.toFile()).start();
		if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
			process.destroyForcibly().waitFor();
			return false;
		}
		return Files.isRegularFile(archive);
	}

	/**
	 * Return the command that starts the application with the archive.
	 * @param java {@code java} and the options the training run had
	 * @param archive the archive
	 * @param launch what the JVM starts, as for the training run
	 * @return the command, to which the application's arguments are appended
	 */
	static List<String> command(List<String> java, Path archive, List<String> launch) {
		List<String> command = new ArrayList<>(java);
		command.add("-XX:SharedArchiveFile=" + archive);
		command.addAll(launch);
		return command;
	}

}
