package dev.zdm.sample.deploy;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

import org.springframework.util.FileSystemUtils;

import dev.zdm.test.EmbeddedPostgresServer;
import dev.zdm.test.PostgresDatabase;

/**
 * The command that starts an application in a JVM of its own for a test, on the test's
 * class path. A test's instances are short-lived and start over and over (a rolling
 * deploy starts 15), so the command starts them for less CPU without changing what they
 * do: C1 only and the serial collector, and a class data sharing archive of the
 * application's classes, made once per test JVM and application by a
 * {@link ClassDataSharing} training run. Class data sharing takes classes from jars only,
 * so the class path's directories ({@code target/classes} of this and the other modules)
 * are packed into jars first, in the same order.
 * <p>
 * Should the training run fail, instances start without the archive; the test's outcome
 * does not depend on it.
 */
public final class InstanceJvm {

	private static final List<String> OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m");

	private static final Path DIRECTORY = Path.of("target", "instance-jvm").toAbsolutePath();

	private static final Map<String, List<String>> commands = new ConcurrentHashMap<>();

	// One per application, so that two applications' training runs go side by side.
	private static final Map<String, Object> locks = new ConcurrentHashMap<>();

	private static @Nullable String classPath;

	private InstanceJvm() {
	}

	/**
	 * Return the command that starts the application: {@code java}, its options and the
	 * main class, to which the application's arguments are appended.
	 * @param application the application's main class
	 * @return the command
	 */
	public static List<String> command(Class<?> application) {
		String name = application.getName();
		synchronized (locks.computeIfAbsent(name, (key) -> new Object())) {
			List<String> command = commands.get(name);
			if (command == null) {
				command = withArchive(name);
				commands.put(name, command);
			}
			return command;
		}
	}

	private static List<String> withArchive(String application) {
		List<String> java = new ArrayList<>(
				List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
		java.addAll(OPTIONS);
		List<String> launch;
		try {
			launch = List.of("-cp", classPath(), application);
			Path archive = DIRECTORY.resolve(application + ".jsa");
			Files.deleteIfExists(archive);
			if (train(java, launch, application, archive)) {
				return ClassDataSharing.command(java, archive, launch);
			}
		}
		catch (IOException | RuntimeException ex) {
			System.out.println("InstanceJvm: no class data sharing for " + application + " (" + ex + ")");
			launch = List.of("-cp", System.getProperty("java.class.path"), application);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
		List<String> command = new ArrayList<>(java);
		command.addAll(launch);
		return command;
	}

	/**
	 * A training run of the application on a database of its own, so that the test's
	 * database stays as the test created it.
	 */
	private static boolean train(List<String> java, List<String> launch, String application, Path archive)
			throws IOException, InterruptedException {
		PostgresDatabase database = EmbeddedPostgresServer.createDatabase("instance_jvm_training");
		try {
			List<String> arguments = new ArrayList<>();
			Stream.of(database.springProperties()).map((property) -> "--" + property).forEach(arguments::add);
			arguments.addAll(List.of("--server.address=127.0.0.1", "--logging.level.root=warn",
					"--spring.main.banner-mode=off"));
			Path log = DIRECTORY.resolve(application + "-training.log");
			long start = System.nanoTime();
			boolean made = ClassDataSharing.train(java, launch, arguments, archive, log, Duration.ofMinutes(5));
			System.out.println("InstanceJvm: class data sharing archive for " + application
					+ (made ? " made in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms"
							: " FAILED, instances start without it: see " + log));
			return made;
		}
		finally {
			database.drop();
		}
	}

	private static synchronized String classPath() throws IOException {
		if (classPath == null) {
			FileSystemUtils.deleteRecursively(DIRECTORY);
			Files.createDirectories(DIRECTORY);
			List<String> entries = new ArrayList<>();
			for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
				Path path = Path.of(entry);
				if (Files.isDirectory(path)) {
					Path jar = DIRECTORY.resolve(entries.size() + "-" + path.getParent().getParent().getFileName() + "-"
							+ path.getFileName() + ".jar");
					pack(path, jar);
					entries.add(jar.toString());
				}
				else if (Files.exists(path)) {
					entries.add(entry);
				}
			}
			classPath = String.join(File.pathSeparator, entries);
		}
		return classPath;
	}

	// With its directory entries, so that a class path scan of a package finds the jar.
	private static void pack(Path directory, Path jar) throws IOException {
		try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
				Stream<Path> paths = Files.walk(directory)) {
			for (Path path : paths.sorted().toList()) {
				String name = directory.relativize(path).toString().replace(File.separatorChar, '/');
				if (name.isEmpty()) {
					continue;
				}
				boolean isDirectory = Files.isDirectory(path);
				out.putNextEntry(new JarEntry(isDirectory ? name + "/" : name));
				if (!isDirectory) {
					copy(path, out);
				}
				out.closeEntry();
			}
		}
	}

	private static void copy(Path file, OutputStream out) {
		try {
			Files.copy(file, out);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
