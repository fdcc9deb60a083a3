package dev.zdm.sample.deploy;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
	 */
	static ServiceInstance start(String name, List<String> command, List<String> arguments, int port, File log) {
		List<String> line = new ArrayList<>(command);
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
