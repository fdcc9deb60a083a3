package dev.zdm.jpa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.jpa.customers.Customer;
import dev.zdm.jpa.customers.CustomerRepository;
import dev.zdm.jpa.customers.OldCustomers;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.awaitility.Awaitility.await;

/**
 * A JPA write through the routing bean at {@code dual-write} against the same write made
 * directly on the old implementation, each in a transaction of the application's
 * ({@code TransactionTemplate}), side by side in one run: two clients each make one write
 * of every variant in turn, in a random order per turn, so that noise from the machine
 * falls on both alike. Both write the same table with the sync trigger installed, so the
 * ratio is the routing bean's own cost. The write reads the customer (Spring Data
 * {@code findById}) and updates its e-mail and balance ({@code saveAndFlush}, full-column
 * update, {@code @Version}). Prints figures; asserts nothing.
 */
@Tag("benchmark")
class JpaDualWriteBenchmark {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 10_000;

	private static final int CLIENTS = 2;

	private static final Duration DURATION = Duration.ofSeconds(60);

	@Test
	void routedJpaWriteAgainstDirectJpaWrite() throws Exception {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
		postgres.jdbc()
			.update("INSERT INTO customers (id, name, email, balance) SELECT i, 'customer ' || i, "
					+ "'customer.' || i || '@example.com', i / 100.0 FROM generate_series(1, ?) AS i", ROWS);
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("spring.flyway.enabled=false", "zdm.fleet.heartbeat-interval=1s",
				"zdm.migrations.customers-email.phase=dual-write",
				"zdm.migrations.customers-email.backfill.enabled=false"));
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(JpaServiceApplication.class)
			.properties(properties.toArray(String[]::new))
			.run()) {
			PhaseController phases = context.getBean(PhaseController.class);
			await().atMost(Duration.ofSeconds(60))
				.until(() -> phases.status("customers-email").effective() == Phase.DUAL_WRITE);
			CustomerRepository routed = context.getBean(CustomerRepository.class);
			CustomerRepository direct = context.getBean(OldCustomers.class);
			TransactionTemplate transaction = new TransactionTemplate(
					context.getBean(PlatformTransactionManager.class));
			Variant[] variants = {
					new Variant("direct: old implementation in a TransactionTemplate",
							(id) -> transaction.execute((status) -> write(direct, id))),
					new Variant("routed: the routing bean at dual-write, in a TransactionTemplate",
							(id) -> transaction.execute((status) -> write(routed, id))) };
			run(variants, Duration.ofSeconds(10));
			Arrays.stream(variants).forEach(Variant::reset);
			run(variants, DURATION);
			double baseline = variants[0].trimmedMean();
			double baselineMedian = variants[0].median();
			System.out.printf("%nJPA write, %d clients, %s, PostgreSQL %s%n", CLIENTS, DURATION,
					postgres.jdbc().queryForObject("SHOW server_version", String.class));
			for (Variant variant : variants) {
				System.out.printf("  %-55s %8d writes  mean %7.3f ms  throughput %.3fx (median-based %.3fx)%n",
						variant.name, variant.count(), variant.trimmedMean() / 1e6, baseline / variant.trimmedMean(),
						baselineMedian / variant.median());
			}
		}
	}

	private static Customer write(CustomerRepository repository, long id) {
		Customer read = repository.findById(id).orElseThrow();
		return repository.update(id, read.version(),
				"customer." + ThreadLocalRandom.current().nextInt(1_000_000) + "@example.com",
				ThreadLocalRandom.current().nextLong(1_000_000));
	}

	private static void run(Variant[] variants, Duration duration) throws InterruptedException {
		long end = System.nanoTime() + duration.toNanos();
		List<Thread> clients = new ArrayList<>();
		for (int client = 0; client < CLIENTS; client++) {
			long first = 1 + (long) client * (ROWS / CLIENTS);
			Thread thread = new Thread(() -> {
				List<Variant> order = new ArrayList<>(Arrays.asList(variants));
				while (System.nanoTime() < end) {
					Collections.shuffle(order);
					for (Variant variant : order) {
						long id = first + ThreadLocalRandom.current().nextLong(ROWS / CLIENTS);
						long start = System.nanoTime();
						variant.action.write(id);
						variant.record(System.nanoTime() - start);
					}
				}
			});
			thread.start();
			clients.add(thread);
		}
		for (Thread client : clients) {
			client.join();
		}
	}

	@FunctionalInterface
	private interface Write {

		void write(long id);

	}

	private static final class Variant {

		private final String name;

		private final Write action;

		private long[] latencies = new long[1 << 16];

		private int count;

		Variant(String name, Write action) {
			this.name = name;
			this.action = action;
		}

		synchronized void record(long nanos) {
			if (this.count == this.latencies.length) {
				this.latencies = Arrays.copyOf(this.latencies, this.count * 2);
			}
			this.latencies[this.count++] = nanos;
		}

		synchronized void reset() {
			this.count = 0;
		}

		synchronized int count() {
			return this.count;
		}

		/** Mean latency, the slowest 1% left out. */
		synchronized double trimmedMean() {
			long[] sorted = Arrays.copyOf(this.latencies, this.count);
			Arrays.sort(sorted);
			int kept = Math.max(1, (int) (sorted.length * 0.99));
			return Arrays.stream(sorted, 0, kept).average().orElse(Double.NaN);
		}

		synchronized double median() {
			long[] sorted = Arrays.copyOf(this.latencies, this.count);
			Arrays.sort(sorted);
			return sorted[sorted.length / 2];
		}

	}

}
