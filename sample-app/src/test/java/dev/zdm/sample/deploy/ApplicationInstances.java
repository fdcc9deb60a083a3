package dev.zdm.sample.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import dev.zdm.test.PostgresExtension;

/**
 * Instances of an application that a test starts with the same arguments: in a JVM of
 * their own ({@link #launch}, started by the {@link InstanceJvm} command), to kill one
 * for real or send it a stop signal, or in the test's JVM ({@link #start}), to read its
 * beans. Each runs on the test's database, on a free port, with its name as
 * {@code zdm.instance-id}, heartbeats every 200 ms and a fleet timeout of 3 s. Unlike a
 * {@link ServiceInstance} of the rolling deploy, nothing sends it requests.
 * <p>
 * A property starting with {@code phase=} or {@code expand=} is the test's migration's
 * own ({@code zdm.migrations.<id>.phase}); every other is written out in full.
 * <p>
 * Register it as an instance field; each test gets a directory of its own for the
 * instances' output and scripts, and every instance it launched is killed after it:
 * <pre class="code">
 * &#64;RegisterExtension
 * final ApplicationInstances instances = new ApplicationInstances(SampleApplication.class, postgres,
 * 		"customers-email", "zdm.migrations.customers-address.expand-paused=true");
 * </pre>
 */
public final class ApplicationInstances implements BeforeEachCallback, AfterEachCallback {

	private final Class<?> application;

	private final PostgresExtension postgres;

	private @Nullable Path directory;

	private final String migration;

	private final List<String> properties;

	private final List<Process> launched = new ArrayList<>();

	/**
	 * Create the instances of a test.
	 * @param application the application's main class
	 * @param postgres the test's database
	 * @param migration the migration the test is about
	 * @param properties properties every instance gets
	 */
	public ApplicationInstances(Class<?> application, PostgresExtension postgres, String migration,
			String... properties) {
		this.application = application;
		this.postgres = postgres;
		this.migration = migration;
		this.properties = List.of(properties);
	}

	@Override
	public void beforeEach(ExtensionContext context) throws IOException {
		this.directory = Files.createTempDirectory("zdm-instances");
	}

	@Override
	public void afterEach(ExtensionContext context) throws IOException {
		close();
		Path used = directory();
		this.directory = null;
		try (Stream<Path> paths = Files.walk(used)) {
			for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
				Files.deleteIfExists(path);
			}
		}
	}

	/**
	 * Start an instance in a JVM of its own, its output in {@code <name>.log}.
	 * @param name the instance's name
	 * @param properties properties of this instance
	 * @return the process
	 */
	public Process launch(String name, String... properties) {
		List<String> command = new ArrayList<>(InstanceJvm.command(this.application));
		command.addAll(arguments(name, properties));
		try {
			Process process = new ProcessBuilder(command).redirectErrorStream(true)
				.redirectOutput(directory().resolve(name + ".log").toFile())
				.start();
			this.launched.add(process);
			return process;
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not launch " + name, ex);
		}
	}

	/**
	 * Start an instance in the test's JVM.
	 * @param name the instance's name
	 * @param properties properties of this instance
	 * @return the running application, for the test to close
	 */
	public ConfigurableApplicationContext start(String name, String... properties) {
		return new SpringApplicationBuilder(this.application).run(arguments(name, properties).toArray(String[]::new));
	}

	/**
	 * Return what a launched instance wrote, for an assertion's message.
	 * @param name the instance's name
	 * @return its output so far
	 */
	public String log(String name) {
		try {
			return Files.readString(directory().resolve(name + ".log"));
		}
		catch (IOException ex) {
			return ex.toString();
		}
	}

	/**
	 * Write an expand script.
	 * @param name the script's file name, for example {@code V1__add_column.sql}
	 * @param sql its statements
	 * @return the scripts' location, for {@code expand=}
	 */
	public String script(String name, String sql) {
		try {
			Path expand = Files.createDirectories(directory().resolve("expand"));
			Files.writeString(expand.resolve(name), sql);
			return "filesystem:" + expand.toAbsolutePath();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not write " + name, ex);
		}
	}

	// kill every launched instance that still runs
	private void close() {
		for (Process process : this.launched) {
			process.destroyForcibly();
			try {
				process.waitFor(30, TimeUnit.SECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				return;
			}
		}
	}

	private Path directory() {
		if (this.directory == null) {
			throw new IllegalStateException("ApplicationInstances must be registered as an instance field");
		}
		return this.directory;
	}

	private List<String> arguments(String name, String... properties) {
		return Stream
			.of(Stream.of(this.postgres.springProperties()),
					Stream.of("server.port=0", "spring.main.banner-mode=off", "logging.level.root=warn",
							"logging.level.dev.zdm=info", "zdm.instance-id=" + name,
							"zdm.fleet.heartbeat-interval=200ms", "zdm.fleet.timeout=3s"),
					this.properties.stream().map(this::migrationsOwn), Stream.of(properties).map(this::migrationsOwn))
			.flatMap((stream) -> stream)
			.map((property) -> "--" + property)
			.toList();
	}

	private String migrationsOwn(String property) {
		return (property.startsWith("phase=") || property.startsWith("expand="))
				? "zdm.migrations." + this.migration + "." + property : property;
	}

}
