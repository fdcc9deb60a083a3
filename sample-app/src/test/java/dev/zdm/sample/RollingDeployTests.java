package dev.zdm.sample;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatusCode;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.RestClient;

import dev.zdm.migration.Phase;
import dev.zdm.phase.MigrationStatus;
import dev.zdm.phase.PhaseController;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A scripted rolling deploy: two instances of the sample behind a round-robin balancer, on one database under
 * steady traffic, each replaced one at a time at every phase from {@code expand} to {@code contract}. No request may
 * fail and no acknowledged write may be lost.
 */
class RollingDeployTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String MIGRATION = "customers-email";

	private static final int EXISTING_ROWS = 5_000;

	private final List<Instance> rotation = new CopyOnWriteArrayList<>();

	private final AtomicInteger roundRobin = new AtomicInteger();

	private final Map<Long, String> acknowledgedEmails = new ConcurrentHashMap<>();

	private final Map<Long, Boolean> deleted = new ConcurrentHashMap<>();

	private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();

	private final AtomicLong requests = new AtomicLong();

	@Test
	void twoInstancesMoveThroughEveryPhaseUnderSteadyTrafficWithoutAFailedRequestOrALostWrite() throws Exception {
		createTableWithExistingCustomers();
		Instance a = start("a", Phase.EXPAND);
		Instance b = start("b", Phase.EXPAND);
		this.rotation.addAll(List.of(a, b));
		AtomicBoolean running = new AtomicBoolean(true);
		List<Thread> clients = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			Thread client = new Thread(() -> traffic(running), "client-" + i);
			client.start();
			clients.add(client);
		}
		try {
			for (Phase phase : List.of(Phase.DUAL_WRITE, Phase.BACKFILL, Phase.READ_NEW, Phase.CONTRACT)) {
				a = replace(a, start("a", phase));
				b = replace(b, start("b", phase));
				Instance first = a;
				Instance second = b;
				await().atMost(Duration.ofSeconds(90))
					.pollInterval(Duration.ofMillis(200))
					.until(() -> first.status().effective() == phase && second.status().effective() == phase);
			}
			await().atMost(Duration.ofSeconds(60))
				.pollInterval(Duration.ofMillis(200))
				.until(() -> !columns().contains("email"));
			Thread.sleep(1000);
		}
		finally {
			running.set(false);
			for (Thread client : clients) {
				client.join();
			}
			this.rotation.forEach(Instance::close);
		}
		assertThat(this.failures).as("failed requests").isEmpty();
		assertThat(this.requests.get()).as("requests served").isGreaterThan(500);
		JdbcTemplate jdbc = postgres.jdbc();
		this.acknowledgedEmails.forEach((id, email) -> {
			List<String> stored = jdbc.queryForList("SELECT email_address FROM customers WHERE id = ?", String.class, id);
			if (this.deleted.containsKey(id)) {
				assertThat(stored).as("customer %d was deleted", id).isEmpty();
			}
			else {
				assertThat(stored).as("acknowledged e-mail of customer %d", id).containsExactly(email.toLowerCase());
			}
		});
		assertThat(jdbc.queryForObject("SELECT count(*) FROM customers WHERE email_address IS NULL", Integer.class))
			.as("rows without the new column").isZero();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM customers WHERE id <= ?", Integer.class, EXISTING_ROWS))
			.as("existing rows kept").isEqualTo(EXISTING_ROWS);
	}

	private void createTableWithExistingCustomers() {
		Flyway.configure()
			.dataSource(postgres.dataSource())
			.locations("classpath:db/migration")
			.load()
			.migrate();
		postgres.jdbc()
			.update("INSERT INTO customers (name, email) SELECT 'customer ' || i, 'Customer.' || i || '@Example.com' "
					+ "FROM generate_series(1, ?) AS i", EXISTING_ROWS);
	}

	private Instance start(String slot, Phase phase) {
		String[] properties = { "server.port=0", "spring.main.banner-mode=off",
				"logging.level.root=warn", "logging.level.dev.zdm=info",
				"zdm.instance-id=" + slot + "-" + phase.value(),
				"zdm.migrations." + MIGRATION + ".phase=" + phase.value(),
				"zdm.fleet.heartbeat-interval=200ms", "zdm.fleet.timeout=3s", "zdm.fleet.join-timeout=5s",
				"zdm.migrations." + MIGRATION + ".backfill.initial-batch-size=500",
				"zdm.migrations." + MIGRATION + ".backfill.pause=10ms" };
		String[] arguments = Stream.concat(Stream.of(postgres.springProperties()), Stream.of(properties))
			.map((property) -> "--" + property)
			.toArray(String[]::new);
		ConfigurableApplicationContext context = new SpringApplicationBuilder(SampleApplication.class).run(arguments);
		int port = ((WebServerApplicationContext) context).getWebServer().getPort();
		return new Instance(slot + "-" + phase.value(), context, RestClient.create("http://localhost:" + port));
	}

	private Instance replace(Instance old, Instance replacement) throws InterruptedException {
		this.rotation.add(replacement);
		this.rotation.remove(old);
		Thread.sleep(300);
		old.close();
		return replacement;
	}

	private void traffic(AtomicBoolean running) {
		List<Long> mine = new ArrayList<>();
		while (running.get()) {
			Instance[] balanced = this.rotation.toArray(new Instance[0]);
			Instance instance = balanced[Math.floorMod(this.roundRobin.getAndIncrement(), balanced.length)];
			int dice = ThreadLocalRandom.current().nextInt(100);
			try {
				if (mine.isEmpty() || dice < 40) {
					String email = "New.Customer." + ThreadLocalRandom.current().nextInt(1_000_000) + "@Example.com";
					Customer created = instance.client()
						.post()
						.uri("/customers")
						.body(Map.of("name", "new customer", "email", email))
						.retrieve()
						.body(Customer.class);
					this.acknowledgedEmails.put(created.id(), email);
					mine.add(created.id());
				}
				else if (dice < 70) {
					long id = mine.get(ThreadLocalRandom.current().nextInt(mine.size()));
					String email = "Changed." + ThreadLocalRandom.current().nextInt(1_000_000) + "@Example.com";
					HttpStatusCode status = instance.client()
						.put()
						.uri("/customers/{id}/email", id)
						.body(Map.of("email", email))
						.retrieve()
						.toBodilessEntity()
						.getStatusCode();
					if (status.value() == 204) {
						this.acknowledgedEmails.put(id, email);
					}
					else if (!this.deleted.containsKey(id)) {
						this.failures.add("update of " + id + " on " + instance.name() + " answered " + status);
					}
				}
				else if (dice < 95) {
					long id = mine.get(ThreadLocalRandom.current().nextInt(mine.size()));
					Optional<Customer> read = Optional.ofNullable(instance.client()
						.get()
						.uri("/customers/{id}", id)
						.retrieve()
						.onStatus((code) -> code.value() == 404, (request, response) -> {
						})
						.body(Customer.class));
					String expected = this.deleted.containsKey(id) ? null : this.acknowledgedEmails.get(id);
					String actual = read.map(Customer::email).orElse(null);
					if ((expected == null) != (actual == null)
							|| (expected != null && !expected.equalsIgnoreCase(actual))) {
						this.failures.add("read of " + id + " on " + instance.name() + " gave " + actual + ", expected "
								+ expected);
					}
				}
				else {
					long id = mine.remove(ThreadLocalRandom.current().nextInt(mine.size()));
					instance.client().delete().uri("/customers/{id}", id).retrieve().toBodilessEntity();
					this.deleted.put(id, true);
				}
				this.requests.incrementAndGet();
			}
			catch (RuntimeException ex) {
				this.failures.add(instance.name() + ": " + ex);
			}
		}
	}

	private List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'",
					String.class);
	}

	private record Instance(String name, ConfigurableApplicationContext context, RestClient client) {

		MigrationStatus status() {
			return this.context.getBean(PhaseController.class).status(MIGRATION);
		}

		void close() {
			this.context.close();
		}

	}

}
