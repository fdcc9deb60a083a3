package dev.zdm.sample;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.RestClient;

import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.sample.deploy.SampleDatabase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The expand DDL runs beside the application: two instances of the sample requesting
 * {@code dual-write} start and serve while a read transaction held open by another
 * session keeps the expand's {@code ALTER TABLE} from its lock, well past the attempts a
 * start-up expand would make, under steady inserts, updates, deletes and reads.
 */
@Isolated
class ExpandInBackgroundTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String MIGRATION = "customers-email";

	private static final Pattern EXPAND_STATE = Pattern.compile("the expand DDL is not done yet: it ([^(;]*[^(; ])");

	private static final Duration LOCK_TIMEOUT = Duration.ofMillis(100);

	private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);

	private static final int MAX_ATTEMPTS = 3;

	private static final Duration BLOCKER_HOLDS = Duration.ofSeconds(15);

	private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();

	private final AtomicLong requests = new AtomicLong();

	private final Map<String, AtomicLong> writes = Map.of("insert", new AtomicLong(), "update", new AtomicLong(),
			"delete", new AtomicLong());

	@Test
	void instancesServeWhileTheExpandWaitsBehindALockAndApplyItOnceTheBlockerLeaves() throws Exception {
		SampleDatabase.createCustomers(postgres, 1000);
		JdbcTemplate jdbc = postgres.jdbc();
		AtomicBoolean running = new AtomicBoolean(true);
		List<Thread> threads = new ArrayList<>();
		ConcurrentLinkedQueue<String> dualWriteTooEarly = new ConcurrentLinkedQueue<>();
		ConcurrentLinkedQueue<String> slowLockWaits = new ConcurrentLinkedQueue<>();
		AtomicLong reads = new AtomicLong();
		AtomicLong longestRead = new AtomicLong();
		List<ConfigurableApplicationContext> instances = new ArrayList<>();
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM customers");
			}
			long blockedSince = System.nanoTime();
			threads.add(daemon("fleet-watch", () -> watchFleet(running, dualWriteTooEarly)));
			for (int i = 0; i < 2; i++) {
				threads.add(daemon("reader-" + i, () -> read(running, reads, longestRead, slowLockWaits)));
			}

			long started = System.nanoTime();
			ConfigurableApplicationContext a = start("a");
			instances.add(a);
			Duration startUp = Duration.ofNanos(System.nanoTime() - started);
			ConfigurableApplicationContext b = start("b");
			instances.add(b);
			threads.add(daemon("traffic", () -> traffic(running, List.of(client(a), client(b)))));
			System.out
				.println("Instance a started in " + startUp.toMillis() + " ms while the expand waits for its lock");

			ResponseEntity<String> health = get(client(a), "/actuator/health");
			assertThat(health.getStatusCode().value()).isEqualTo(200);
			assertThat(health.getBody()).contains("\"status\":\"UP\"").contains("\"expand\":{\"customers-email\"");
			assertThat(get(client(b), "/customers/count").getStatusCode().value()).isEqualTo(200);
			assertThat(status(a).effective()).isEqualTo(Phase.EXPAND);
			assertThat(status(a).heldBackReason()).contains("the expand DDL is not done yet");

			// One instance runs the expand; the other waits for it.
			await().atMost(Duration.ofSeconds(30))
				.until(() -> List.of(expandState(a), expandState(b)).contains("runs on another instance"));
			assertThat(List.of(expandState(a), expandState(b))).containsAnyOf("waits for a lock",
					"runs on this instance");

			// Well past the attempts a statement gets at start-up, both instances still
			// serve.
			await().atMost(Duration.ofSeconds(60)).until(() -> lockTimeouts() >= 3 * MAX_ATTEMPTS);
			long left = BLOCKER_HOLDS.toNanos() - (System.nanoTime() - blockedSince);
			if (left > 0) {
				Thread.sleep(TimeUnit.NANOSECONDS.toMillis(left));
			}
			for (ConfigurableApplicationContext instance : instances) {
				assertThat(instance.isActive()).isTrue();
				ResponseEntity<String> stillHealthy = get(client(instance), "/actuator/health");
				assertThat(stillHealthy.getStatusCode().value()).isEqualTo(200);
				assertThat(stillHealthy.getBody()).contains("\"status\":\"UP\"");
				assertThat(status(instance).effective()).isEqualTo(Phase.EXPAND);
			}
			assertThat(get(client(a), "/actuator/health").getBody() + get(client(b), "/actuator/health").getBody())
				.contains("\"lastBlockers\":\"blocked by pid");
			assertThat(get(client(a), "/actuator/zdm/customers-email").getBody()
					+ get(client(b), "/actuator/zdm/customers-email").getBody())
				.contains("\"expand\":{\"migrationId\":\"customers-email\"", "\"state\":\"waiting-for-lock\"",
						"\"lastBlockers\":\"blocked by pid");
			assertThat(columns()).doesNotContain("email_address");

			Timestamp released;
			try (Statement statement = blocker.createStatement();
					ResultSet rs = statement.executeQuery("SELECT clock_timestamp()")) {
				rs.next();
				released = rs.getTimestamp(1);
			}
			blocker.commit();
			await().atMost(Duration.ofSeconds(30)).until(() -> columns().contains("email_address"));
			Timestamp appliedAttemptStarted = jdbc.queryForObject(
					"SELECT finished_at FROM zdm_ddl_statement WHERE migration_id = ? AND source LIKE 'V1__%'",
					Timestamp.class, MIGRATION);
			Duration afterRelease = Duration.between(released.toInstant(), appliedAttemptStarted.toInstant());
			System.out.println("Blocked for " + BLOCKER_HOLDS + " with " + lockTimeouts()
					+ " lock timeouts; the ALTER's " + "successful attempt started " + afterRelease.toMillis()
					+ " ms after the blocker left (max-backoff " + MAX_BACKOFF.toMillis() + " ms)");
			assertThat(afterRelease).isLessThan(MAX_BACKOFF.plusSeconds(1));

			await().atMost(Duration.ofSeconds(30))
				.until(() -> status(a).effective() == Phase.DUAL_WRITE && status(b).effective() == Phase.DUAL_WRITE);
			Thread.sleep(500);
		}
		finally {
			running.set(false);
			for (Thread thread : threads) {
				thread.join(10_000);
			}
			instances.forEach(ConfigurableApplicationContext::close);
		}
		System.out.println(reads.get() + " reads, longest " + TimeUnit.NANOSECONDS.toMillis(longestRead.get())
				+ " ms (wall clock); " + this.requests.get() + " requests, writes " + this.writes);
		assertThat(dualWriteTooEarly).as("instances at dual-write before the expand was done").isEmpty();
		assertThat(slowLockWaits).as("reads that waited for a lock longer than lock-timeout + 50 ms").isEmpty();
		assertThat(reads.get()).isGreaterThan(100);
		assertThat(this.failures).as("failed requests").isEmpty();
		assertThat(this.writes.values()).as("inserts, updates and deletes while the expand waited")
			.allSatisfy((count) -> assertThat(count.get()).isPositive());
	}

	// Reads on sessions of their own whose lock_timeout is the DDL's + 50 ms: a read that
	// would wait longer for a
	// lock fails, whatever the machine's load does to the wall-clock time.
	private void read(AtomicBoolean running, AtomicLong reads, AtomicLong longest, ConcurrentLinkedQueue<String> slow) {
		try (Connection connection = postgres.database().newConnection()) {
			try (Statement statement = connection.createStatement()) {
				statement.execute("SET lock_timeout = '" + (LOCK_TIMEOUT.toMillis() + 50) + "ms'");
			}
			try (PreparedStatement select = connection.prepareStatement("SELECT email FROM customers WHERE id = ?")) {
				while (running.get()) {
					select.setLong(1, ThreadLocalRandom.current().nextLong(1, 1000));
					long started = System.nanoTime();
					try (ResultSet rs = select.executeQuery()) {
						rs.next();
					}
					catch (SQLException ex) {
						slow.add(ex.getSQLState() + ": " + ex.getMessage());
					}
					longest.accumulateAndGet(System.nanoTime() - started, Math::max);
					reads.incrementAndGet();
				}
			}
		}
		catch (SQLException ex) {
			slow.add("reader failed: " + ex);
		}
	}

	private void watchFleet(AtomicBoolean running, ConcurrentLinkedQueue<String> tooEarly) {
		JdbcTemplate jdbc = postgres.jdbc();
		while (running.get()) {
			try {
				tooEarly.addAll(jdbc.queryForList(
						"""
								SELECT i.instance_id || ' runs ' || i.effective_phase FROM zdm_instance i
								WHERE i.migration_id = ? AND i.effective_phase <> 'expand'
								  AND NOT EXISTS (SELECT 1 FROM zdm_ddl_step s
								                  WHERE s.migration_id = i.migration_id AND s.step = 'expand' AND s.state = 'done')
								""",
						String.class, MIGRATION));
			}
			catch (RuntimeException ex) {
				// zdm's tables do not exist until the first instance starts
			}
			sleep(20);
		}
	}

	private void traffic(AtomicBoolean running, List<RestClient> clients) {
		List<Long> mine = new ArrayList<>();
		int request = 0;
		while (running.get()) {
			RestClient client = clients.get(request++ % clients.size());
			int dice = ThreadLocalRandom.current().nextInt(100);
			try {
				if (mine.isEmpty() || dice < 40) {
					Customer created = client.post()
						.uri("/customers")
						.body(Map.of("name", "new", "email", "New." + request + "@Example.com"))
						.retrieve()
						.body(Customer.class);
					mine.add(created.id());
					this.writes.get("insert").incrementAndGet();
				}
				else if (dice < 70) {
					client.put()
						.uri("/customers/{id}/email", mine.get(ThreadLocalRandom.current().nextInt(mine.size())))
						.body(Map.of("email", "Changed." + request + "@Example.com"))
						.retrieve()
						.toBodilessEntity();
					this.writes.get("update").incrementAndGet();
				}
				else if (dice < 90) {
					client.get()
						.uri("/customers/{id}", mine.get(ThreadLocalRandom.current().nextInt(mine.size())))
						.retrieve()
						.body(Customer.class);
				}
				else {
					client.delete()
						.uri("/customers/{id}", mine.remove(ThreadLocalRandom.current().nextInt(mine.size())))
						.retrieve()
						.toBodilessEntity();
					this.writes.get("delete").incrementAndGet();
				}
				this.requests.incrementAndGet();
			}
			catch (RuntimeException ex) {
				this.failures.add(ex.toString());
			}
			sleep(5);
		}
	}

	private static ConfigurableApplicationContext start(String name) {
		String[] arguments = Stream
			.concat(Stream.of(postgres.springProperties()),
					Stream.of("server.port=0", "spring.main.banner-mode=off", "logging.level.root=warn",
							"logging.level.dev.zdm=info", "management.endpoint.health.show-details=always",
							"zdm.instance-id=" + name, "zdm.migrations." + MIGRATION + ".phase=dual-write",
							"zdm.fleet.heartbeat-interval=200ms", "zdm.fleet.timeout=3s",
							"zdm.ddl.lock-timeout=" + LOCK_TIMEOUT.toMillis() + "ms",
							"zdm.ddl.max-attempts=" + MAX_ATTEMPTS, "zdm.ddl.initial-backoff=50ms",
							"zdm.ddl.max-backoff=" + MAX_BACKOFF.toMillis() + "ms"))
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		return new SpringApplicationBuilder(SampleApplication.class).run(arguments);
	}

	private static dev.zdm.internal.fleet.MigrationStatus status(ConfigurableApplicationContext context) {
		return context.getBean(PhaseController.class).status(MIGRATION);
	}

	// Where the expand stands on an instance, as the reason it is held at expand says
	// (read from memory: no query while the reads' lock waits are measured).
	private static String expandState(ConfigurableApplicationContext context) {
		String reason = status(context).heldBackReason();
		Matcher state = EXPAND_STATE.matcher((reason != null) ? reason : "");
		return state.find() ? state.group(1) : "none";
	}

	private static int lockTimeouts() {
		Integer count = postgres.jdbc()
			.queryForObject("SELECT count(*) FROM zdm_ddl_lock_timeout WHERE migration_id = ?", Integer.class,
					MIGRATION);
		return (count != null) ? count : 0;
	}

	private static List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'",
					String.class);
	}

	private static RestClient client(ConfigurableApplicationContext context) {
		int port = ((WebServerApplicationContext) context).getWebServer().getPort();
		return RestClient.builder()
			.baseUrl("http://localhost:" + port)
			.defaultStatusHandler((status) -> status.value() == 503, (request, response) -> {
			})
			.build();
	}

	private static ResponseEntity<String> get(RestClient client, String path) {
		return client.get().uri(path).retrieve().toEntity(String.class);
	}

	private static Thread daemon(String name, Runnable runnable) {
		Thread thread = new Thread(runnable, name);
		thread.setDaemon(true);
		thread.start();
		return thread;
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
