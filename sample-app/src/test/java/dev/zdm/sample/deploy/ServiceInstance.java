package dev.zdm.sample.deploy;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One instance of the service: a JVM process of its own, started with the phases it
 * requests, stopped gracefully (SIGTERM) or killed (SIGKILL).
 */
final class ServiceInstance {

	private static final JsonMapper json = JsonMapper.builder().build();

	private final String name;

	private final Process process;

	private final HttpTarget target;

	private final AtomicInteger inFlight = new AtomicInteger();

	private volatile long killedAt;

	private volatile long removedAt;

	private ServiceInstance(String name, Process process, HttpTarget target) {
		this.name = name;
		this.process = process;
		this.target = target;
	}

	/**
	 * Start an instance. It gets a connection pool of its own, as behind a load balancer,
	 * so that no request to its replacement on the same port goes out on a connection the
	 * stopped instance closed.
	 * @param nice the niceness to start it at (Linux {@code nice}), 0 for none
	 */
	static ServiceInstance start(String name, List<String> command, List<String> arguments, int port, File log,
			int nice) {
		List<String> line = new ArrayList<>();
		if (nice != 0) {
			line.addAll(List.of("nice", "-n", Integer.toString(nice)));
		}
		line.addAll(command);
		line.addAll(arguments);
		line.add("--server.port=" + port);
		try {
			Process process = new ProcessBuilder(line).redirectErrorStream(true)
				.redirectOutput(ProcessBuilder.Redirect.appendTo(log))
				.start();
			HttpClient client = HttpClient.newBuilder()
				.version(HttpClient.Version.HTTP_1_1)
				.connectTimeout(Duration.ofSeconds(2))
				.executor(Executors.newCachedThreadPool((runnable) -> {
					Thread thread = new Thread(runnable, "http-" + name);
					thread.setDaemon(true);
					return thread;
				}))
				.build();
			return new ServiceInstance(name, process, new HttpTarget(client, URI.create("http://localhost:" + port)));
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not start " + String.join(" ", line), ex);
		}
	}

	String name() {
		return this.name;
	}

	long pid() {
		return this.process.pid();
	}

	Process process() {
		return this.process;
	}

	HttpTarget target() {
		return this.target;
	}

	AtomicInteger inFlight() {
		return this.inFlight;
	}

	boolean isAlive() {
		return this.process.isAlive();
	}

	/**
	 * Return {@code /actuator/zdm} of this instance, or {@code null} while it does not
	 * answer.
	 * @return the endpoint's body
	 */
	JsonNode zdm() {
		try {
			HttpTarget.Response response = this.target.send("GET", "/actuator/zdm", null);
			return (response.status() == 200) ? json.readTree(response.body()) : null;
		}
		catch (IOException ex) {
			return null;
		}
	}

	/**
	 * Stop gracefully, as a platform stops a container: SIGTERM, then wait for the
	 * process to end.
	 * @param timeout how long to wait
	 * @return how long the stop took
	 */
	Duration stop(Duration timeout) {
		long start = System.nanoTime();
		this.process.destroy();
		try {
			if (!this.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
				this.process.destroyForcibly().waitFor();
				throw new IllegalStateException(this.name + " did not stop within " + timeout + " of SIGTERM");
			}
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		return Duration.ofNanos(System.nanoTime() - start);
	}

	/**
	 * Kill with SIGKILL ({@code kill -9}), leaving no chance to leave the fleet or finish
	 * a request.
	 */
	void kill() {
		this.killedAt = System.nanoTime();
		this.process.destroyForcibly();
		try {
			this.process.waitFor();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	/**
	 * Set every thread of this instance (and of its child processes, when the command is
	 * a wrapper) back to niceness 0, as it was started with {@code nice}. Threads started
	 * meanwhile inherit the niceness of the thread that starts them, so this repeats
	 * until none is left at another niceness.
	 * @return {@code null} if done, or why it could not be done
	 */
	@Nullable String raisePriority() {
		try {
			for (int round = 0; round < 5; round++) {
				List<String> niced = nicedThreads();
				if (niced.isEmpty()) {
					return null;
				}
				List<String> line = new ArrayList<>(List.of("renice", "-n", "0", "-p"));
				line.addAll(niced);
				Process renice = new ProcessBuilder(line).redirectErrorStream(true).start();
				String output = new String(renice.getInputStream().readAllBytes()).strip();
				if (renice.waitFor() != 0 && nicedThreads().size() == niced.size()) {
					return "renice failed: " + output;
				}
			}
			return "threads still niced after 5 rounds: " + nicedThreads().size();
		}
		catch (IOException | UncheckedIOException ex) {
			return ex.getMessage();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return "interrupted";
		}
	}

	private List<String> nicedThreads() throws IOException {
		List<String> niced = new ArrayList<>();
		List<ProcessHandle> processes = Stream
			.concat(Stream.of(this.process.toHandle()), this.process.toHandle().descendants())
			.toList();
		for (ProcessHandle handle : processes) {
			Path tasks = Path.of("/proc", Long.toString(handle.pid()), "task");
			if (!Files.isDirectory(tasks)) {
				continue;
			}
			try (Stream<Path> threads = Files.list(tasks)) {
				for (Path thread : threads.toList()) {
					Integer niceness = niceness(thread.resolve("stat"));
					if (niceness != null && niceness != 0) {
						niced.add(thread.getFileName().toString());
					}
				}
			}
		}
		return niced;
	}

	// Field 19 of /proc/<pid>/task/<tid>/stat; the name, field 2, is in parentheses and
	// may contain spaces.
	private static @Nullable Integer niceness(Path stat) {
		try {
			String line = Files.readString(stat);
			String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
			return Integer.valueOf(fields[16]);
		}
		catch (IOException | RuntimeException ex) {
			// The thread ended meanwhile.
			return null;
		}
	}

	void removedFromRotation() {
		this.removedAt = System.nanoTime();
	}

	/**
	 * Whether a request sent at the given time was in flight on this instance when it was
	 * killed.
	 * @param sentAt when the request was sent ({@link System#nanoTime()})
	 * @return {@code true} if so
	 */
	boolean wasKilledUnder(long sentAt) {
		long killed = this.killedAt;
		long removed = this.removedAt;
		return killed != 0 && (removed == 0 || sentAt <= removed);
	}

	@Override
	public String toString() {
		return this.name + " (pid " + pid() + ", " + this.target + ")";
	}

}
