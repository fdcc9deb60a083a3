package dev.zdm.sample.deploy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * {@link FileWorkload} against a small in-memory HTTP service, faithful or one that
 * acknowledges changes it does not keep; bad workload files; and a
 * {@code --workload-class} loaded from the user's jar.
 */
class FileWorkloadTests {

	private static final String WORKLOAD = """
			{
			  "requests": [
			    { "name": "create", "weight": 1, "method": "POST", "path": "/things",
			      "body": "{\\"name\\": \\"new ${seq}\\"}", "status": 201, "id": "/id",
			      "check": { "path": "/things/${id}", "fields": { "/name": "new ${seq}" } } },
			    { "name": "rename", "weight": 2, "method": "PUT", "path": "/things/${id}",
			      "body": "{\\"name\\": \\"renamed ${seq}\\"}", "status": 204,
			      "check": { "path": "/things/${id}", "fields": { "/name": "renamed ${seq}" }, "contains": ["\\"id\\""] } },
			    { "name": "read", "weight": 2, "read": true }
			  ]
			}
			""";

	@TempDir
	Path directory;

	private HttpServer server;

	@AfterEach
	void stop() {
		if (this.server != null) {
			this.server.stop(0);
		}
	}

	@Test
	void aFaithfulServiceHasNoStaleReadAndNoLostWrite() throws Exception {
		HttpTarget target = serve(true);
		FileWorkload workload = FileWorkload.read(file(WORKLOAD));
		for (int i = 0; i < 300; i++) {
			Workload.Outcome outcome = workload.request(target);
			assertThat(outcome.ok()).as(String.valueOf(outcome.failure())).isTrue();
		}
		assertThat(workload.lostWrites(target, 2)).isEmpty();
		assertThat(workload.figures().get("acknowledged writes")).isGreaterThan(100);
		assertThat(workload.figures().get("entities written and read back at the end")).isGreaterThan(10);
	}

	@Test
	void aServiceThatAcknowledgesChangesItDoesNotKeepHasStaleReadsAndLostWrites() throws Exception {
		HttpTarget target = serve(false);
		FileWorkload workload = FileWorkload.read(file(WORKLOAD));
		long stale = 0;
		for (int i = 0; i < 300; i++) {
			if (workload.request(target).staleRead()) {
				stale++;
			}
		}
		assertThat(stale).isPositive();
		assertThat(workload.lostWrites(target, 2)).isNotEmpty()
			.allSatisfy((lost) -> assertThat(lost)
				.matches("GET /things/\\d+ gave /name = new \\d+, acknowledged renamed \\d+"));
	}

	@Test
	void badFilesAreRefusedWithWhatIsWrong() throws IOException {
		assertThatIllegalArgumentException().isThrownBy(() -> FileWorkload.read(file("{\"requests\": []}")))
			.withMessageContaining("\"requests\" must be a non-empty array");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> FileWorkload.read(file(
					"{\"requests\": [{\"weight\": 1, \"method\": \"GET\", " + "\"path\": \"/x\", \"expect\": 200}]}")))
			.withMessageContaining("unknown field \"expect\"");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> FileWorkload.read(file("{\"requests\": [{\"weight\": 1, \"read\": true}]}")))
			.withMessageContaining("nothing makes entities");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> FileWorkload.read(file("{\"requests\": [{\"weight\": 1, \"method\": \"POST\", "
					+ "\"path\": \"/x\", \"body\": \"${name}\"}]}")))
			.withMessageContaining("uses ${name}: use one of [${id}, ${random}, ${seq}]");
		assertThatIllegalArgumentException()
			.isThrownBy(() -> FileWorkload.read(file("{\"requests\": [{\"weight\": 1, \"method\": \"POST\", "
					+ "\"path\": \"/x\", \"check\": {\"path\": \"/x\"}}]}")))
			.withMessageContaining("has a check but no entity");
		assertThatIllegalArgumentException().isThrownBy(() -> FileWorkload.read(this.directory.resolve("missing.json")))
			.withMessageContaining("Cannot read the workload file");
	}

	@Test
	void workloadClassIsLoadedFromTheUsersJar() throws Exception {
		Path source = this.directory.resolve("src/com/example/NoTraffic.java");
		Files.createDirectories(source.getParent());
		Files.writeString(source,
				"""
						package com.example;

						import java.util.List;
						import java.util.Map;
						import dev.zdm.sample.deploy.HttpTarget;
						import dev.zdm.sample.deploy.Workload;
						import org.springframework.jdbc.core.JdbcTemplate;

						public class NoTraffic implements Workload {
							public void seed(JdbcTemplate jdbc, int rows) { }
							public Outcome request(HttpTarget target) { return Outcome.OK; }
							public List<String> lostWrites(HttpTarget target, int threads) { return List.of(); }
							public Map<String, Long> disagreeingRows(JdbcTemplate jdbc, List<String> migrations) { return Map.of(); }
							public Map<String, Long> figures() { return Map.of("from the jar", 1L); }
						}
						""");
		Path classes = Files.createDirectories(this.directory.resolve("classes"));
		JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
		assertThat(compiler.run(null, null, null, "-cp", System.getProperty("java.class.path"), "-d",
				classes.toString(), source.toString()))
			.isZero();
		Path jar = this.directory.resolve("workload.jar");
		try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
			out.putNextEntry(new JarEntry("com/example/NoTraffic.class"));
			out.write(Files.readAllBytes(classes.resolve("com/example/NoTraffic.class")));
			out.closeEntry();
		}
		RollingDeploy.Options options = new RollingDeploy.Options().set("workload-class", "com.example.NoTraffic");
		assertThatIllegalArgumentException().isThrownBy(options::workload)
			.withMessageContaining(
					"no class com.example.NoTraffic on the class path (pass its jar with --workload-jar)");
		Workload workload = options.set("workload-jar", jar.toString()).workload();
		assertThat(workload.getClass().getName()).isEqualTo("com.example.NoTraffic");
		assertThat(workload.getClass().getClassLoader()).isNotSameAs(getClass().getClassLoader());
		assertThat(workload.figures()).containsEntry("from the jar", 1L);
	}

	private Path file(String content) throws IOException {
		Path file = Files.createTempFile(this.directory, "workload", ".json");
		Files.writeString(file, content);
		return file;
	}

	/**
	 * Serve {@code /things}: create, read and rename. An unfaithful service answers a
	 * rename with 204 and keeps the old name.
	 */
	private HttpTarget serve(boolean faithful) throws IOException {
		Map<Long, String> things = new ConcurrentHashMap<>();
		AtomicLong ids = new AtomicLong();
		Pattern name = Pattern.compile("\"name\": \"([^\"]*)\"");
		this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
		this.server.createContext("/things", (exchange) -> {
			String path = exchange.getRequestURI().getPath();
			String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
			Matcher matcher = name.matcher(body);
			switch (exchange.getRequestMethod()) {
				case "POST" -> {
					matcher.find();
					long id = ids.incrementAndGet();
					things.put(id, matcher.group(1));
					answer(exchange, 201, "{\"id\": " + id + "}");
				}
				case "PUT" -> {
					matcher.find();
					long id = Long.parseLong(path.substring("/things/".length()));
					if (faithful) {
						things.put(id, matcher.group(1));
					}
					answer(exchange, 204, null);
				}
				default -> {
					long id = Long.parseLong(path.substring("/things/".length()));
					String stored = things.get(id);
					if (stored == null) {
						answer(exchange, 404, null);
					}
					else {
						answer(exchange, 200, "{\"id\": " + id + ", \"name\": \"" + stored + "\"}");
					}
				}
			}
		});
		this.server.start();
		return new HttpTarget(HttpClient.newHttpClient(),
				URI.create("http://127.0.0.1:" + this.server.getAddress().getPort()));
	}

	private static void answer(HttpExchange exchange, int status, String body) throws IOException {
		if (body == null) {
			exchange.sendResponseHeaders(status, -1);
			exchange.close();
			return;
		}
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		exchange.sendResponseHeaders(status, bytes.length);
		try (OutputStream out = exchange.getResponseBody()) {
			out.write(bytes);
		}
	}

}
