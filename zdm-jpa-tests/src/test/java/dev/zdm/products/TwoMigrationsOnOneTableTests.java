package dev.zdm.products;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two migrations on one table with Spring Data JPA: {@code products.price} to
 * {@code price_cents} in the same table, and {@code products.supplier_name} into
 * {@code product_suppliers}. The service's operations use the routed repositories of both
 * migrations in one transaction, on three entity classes of {@code products}, with no
 * flush of their own. Instances leapfrog through every phase of both migrations while
 * writers create, update and delete products the whole time; every acknowledged write is
 * checked in the database right after it, and all of them after each phase.
 */
class TwoMigrationsOnOneTableTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final List<String> MIGRATIONS = List.of("products-price", "products-supplier");

	private static final int EXISTING_ROWS = 300;

	private static final int WRITERS = 3;

	/** A product's old and new columns, whichever of them the table has at the time. */
	private static final String ROW = "to_jsonb(p) ->> 'price' AS price, to_jsonb(p) ->> 'price_cents' AS price_cents, "
			+ "'supplier_name' IN (SELECT jsonb_object_keys(to_jsonb(p))) AS has_supplier_name, "
			+ "to_jsonb(p) ->> 'supplier_name' AS supplier_name";

	private static final Object[] LOCKS = new Object[64];

	static {
		for (int i = 0; i < LOCKS.length; i++) {
			LOCKS[i] = new Object();
		}
	}

	private final List<Instance> rotation = new CopyOnWriteArrayList<>();

	/** The acknowledged state of every live product. */
	private final Map<Long, Product> acknowledged = new ConcurrentHashMap<>();

	private final Map<Long, Boolean> deleted = new ConcurrentHashMap<>();

	private final Queue<String> failures = new ConcurrentLinkedQueue<>();

	private final AtomicLong writes = new AtomicLong();

	@Test
	void serviceWritingBothMigrationsInOneTransactionLosesNoAcknowledgedWriteInAnyPhase() throws Exception {
		createTableWithExistingRows();
		Instance previous = start(Phase.EXPAND);
		this.rotation.add(previous);
		AtomicBoolean running = new AtomicBoolean(true);
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < WRITERS; i++) {
			threads.add(new Thread(() -> traffic(running), "writer-" + i));
		}
		threads.forEach(Thread::start);
		try {
			awaitMoreWrites(50);
			assertAcknowledgedWritesHeld(Phase.EXPAND);
			for (Phase phase : List.of(Phase.DUAL_WRITE, Phase.BACKFILL, Phase.READ_NEW, Phase.CONTRACT)) {
				Instance next = start(phase);
				this.rotation.add(next);
				awaitEffective(phase, next);
				if (phase == Phase.BACKFILL) {
					awaitVerified(next);
				}
				awaitMoreWrites(50);
				retire(previous);
				previous = next;
				awaitMoreWrites(20);
				assertAcknowledgedWritesHeld(phase);
			}
			await().atMost(Duration.ofSeconds(180))
				.pollInterval(Duration.ofMillis(200))
				.until(() -> !columns().contains("price") && !columns().contains("supplier_name"));
			awaitMoreWrites(50);
		}
		finally {
			running.set(false);
			for (Thread thread : threads) {
				thread.join();
			}
			this.rotation.forEach(Instance::close);
		}
		assertThat(this.failures).as("failed or lost writes").isEmpty();
		assertAcknowledgedWritesHeld(Phase.CONTRACT);
	}

	private void createTableWithExistingRows() {
		Flyway.configure()
			.dataSource(postgres.dataSource())
			.locations("classpath:db/products/migration")
			.load()
			.migrate();
		postgres.jdbc()
			.update("INSERT INTO products (id, name, price, supplier_name) SELECT i, 'product ' || i, i / 100.0, "
					+ "'supplier ' || i FROM generate_series(1, ?) AS i", EXISTING_ROWS);
		postgres.jdbc().queryForObject("SELECT setval('products_id_seq', ?)", Long.class, EXISTING_ROWS + 100);
		for (long id = 1; id <= EXISTING_ROWS; id++) {
			this.acknowledged.put(id, new Product(id, "product " + id, id, "supplier " + id));
		}
	}

	private void traffic(AtomicBoolean running) {
		ThreadLocalRandom random = ThreadLocalRandom.current();
		while (running.get()) {
			List<Instance> serving = List.copyOf(this.rotation);
			Instance instance = serving.get(random.nextInt(serving.size()));
			instance.inFlight().incrementAndGet();
			try {
				if (!this.rotation.contains(instance)) {
					// retired between the pick and the count: retire may have closed it
					continue;
				}
				int choice = random.nextInt(10);
				if (choice < 4) {
					create(instance, random);
				}
				else {
					Long id = anyProduct(random);
					if (id != null) {
						synchronized (lock(id)) {
							if (choice < 9) {
								update(instance, id, random);
							}
							else {
								delete(instance, id);
							}
						}
					}
				}
			}
			catch (RuntimeException ex) {
				this.failures.add(instance.name() + ": " + ex);
			}
			finally {
				instance.inFlight().decrementAndGet();
			}
		}
	}

	private void create(Instance instance, ThreadLocalRandom random) {
		String supplier = "supplier " + random.nextInt(1_000_000);
		long priceCents = random.nextLong(1, 10_000_000);
		Product created = instance.service().create("new product", priceCents, supplier);
		synchronized (lock(created.id())) {
			acknowledge(instance, created);
		}
	}

	private void update(Instance instance, long id, ThreadLocalRandom random) {
		if (this.deleted.containsKey(id)) {
			return;
		}
		String supplier = "supplier " + random.nextInt(1_000_000);
		long priceCents = random.nextLong(1, 10_000_000);
		Optional<Product> updated = instance.service().update(id, priceCents, supplier);
		if (updated.isEmpty()) {
			this.failures.add(instance.name() + ": product " + id + " not found for an update");
			return;
		}
		acknowledge(instance, updated.get());
	}

	private void delete(Instance instance, long id) {
		if (this.deleted.containsKey(id)) {
			return;
		}
		instance.service().delete(id);
		this.acknowledged.remove(id);
		this.deleted.put(id, true);
		this.writes.incrementAndGet();
		String disagreement = disagreement(id, null, false);
		if (disagreement != null) {
			this.failures.add(instance.name() + ": after deleting: " + disagreement);
		}
	}

	private void acknowledge(Instance instance, Product product) {
		this.acknowledged.put(product.id(), product);
		this.writes.incrementAndGet();
		String disagreement = disagreement(product.id(), product, false);
		if (disagreement != null) {
			this.failures.add(instance.name() + " (" + instance.phase() + "): right after an acknowledged write of "
					+ product + ": " + disagreement);
		}
	}

	private @org.jspecify.annotations.Nullable Long anyProduct(ThreadLocalRandom random) {
		List<Long> ids = new ArrayList<>(this.acknowledged.keySet());
		return ids.isEmpty() ? null : ids.get(random.nextInt(ids.size()));
	}

	/**
	 * After a phase: every acknowledged write is in the database, on the old columns
	 * while they exist and on the new ones; {@code product_suppliers} once the backfill
	 * has been verified. The table is read at once, while the writers go on; a product
	 * that disagrees there may have been written meanwhile, and is checked again on its
	 * own, as its writers would see it.
	 */
	private void assertAcknowledgedWritesHeld(Phase phase) {
		boolean newTableComplete = phase.readsNew();
		// What was acknowledged before the table is read: a write acknowledged since then
		// makes a difference that the check on its own settles.
		Map<Long, Product> acknowledged = new HashMap<>(this.acknowledged);
		List<Long> deleted = new ArrayList<>(this.deleted.keySet());
		OldColumns kept = oldColumnsKept();
		Map<Long, Map<String, Object>> rows = new HashMap<>();
		postgres.jdbc()
			.queryForList("SELECT p.id, " + ROW + " FROM products p")
			.forEach((row) -> rows.put(((Number) row.get("id")).longValue(), row));
		Map<Long, List<String>> newSuppliers = new HashMap<>();
		if (newTableComplete) {
			postgres.jdbc()
				.queryForList("SELECT product_id, supplier_name FROM product_suppliers")
				.forEach((row) -> newSuppliers
					.computeIfAbsent(((Number) row.get("product_id")).longValue(), (id) -> new ArrayList<>())
					.add((String) row.get("supplier_name")));
		}
		List<String> disagreements = new ArrayList<>();
		acknowledged.forEach((id, expected) -> {
			if (compare(id, expected, rows.get(id), newSuppliers.getOrDefault(id, List.of()), kept,
					newTableComplete) != null) {
				synchronized (lock(id)) {
					Product now = this.acknowledged.get(id);
					String disagreement = (now != null) ? disagreement(id, now, newTableComplete) : null;
					if (disagreement != null) {
						disagreements.add(disagreement);
					}
				}
			}
		});
		for (Long id : deleted) {
			if (rows.containsKey(id)) {
				String disagreement = disagreement(id, null, false);
				if (disagreement != null) {
					disagreements.add(disagreement);
				}
			}
		}
		assertThat(disagreements).as("acknowledged writes not held at %s", phase).isEmpty();
		assertThat(this.failures).as("failed or lost writes at %s", phase).isEmpty();
	}

	/**
	 * What the database holds for a product, compared with what was acknowledged; the
	 * columns a phase has dropped or not added yet are absent from the row's JSON.
	 */
	private @org.jspecify.annotations.Nullable String disagreement(long id,
			@org.jspecify.annotations.Nullable Product expected, boolean newTableComplete) {
		OldColumns kept = oldColumnsKept();
		List<Map<String, Object>> rows = postgres.jdbc()
			.queryForList("SELECT " + ROW + " FROM products p WHERE p.id = ?", id);
		if (expected == null) {
			return rows.isEmpty() ? null : "deleted product " + id + " is still there: " + rows.get(0);
		}
		List<String> newSupplier = newTableComplete
				? postgres.jdbc()
					.queryForList("SELECT supplier_name FROM product_suppliers WHERE product_id = ?", String.class, id)
				: List.of();
		return compare(id, expected, rows.isEmpty() ? null : rows.get(0), newSupplier, kept, newTableComplete);
	}

	/**
	 * From contract on the old columns are no longer kept: the sync trigger turns into
	 * the guard that refuses writes of the old columns before the price column is
	 * dropped, and the supplier column is not written once the contract is claimed. Both
	 * are read before the rows, so an old column is checked only when the write was
	 * synced to it.
	 */
	private static OldColumns oldColumnsKept() {
		boolean priceTriggerInstalled = Boolean.TRUE.equals(postgres.jdbc()
			.queryForObject("SELECT EXISTS (SELECT FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
					+ "WHERE t.tgname = 'zdm_sync_products_price' AND p.prosrc LIKE '%keeps the old and new columns%')",
					Boolean.class));
		boolean supplierContracted = new MigrationStateRepository(postgres.dataSource()).find("products-supplier")
			.isContracted();
		return new OldColumns(priceTriggerInstalled, !supplierContracted);
	}

	private static @org.jspecify.annotations.Nullable String compare(long id, Product expected,
			@org.jspecify.annotations.Nullable Map<String, Object> row, List<String> newSupplier, OldColumns kept,
			boolean newTableComplete) {
		if (row == null) {
			return "product " + id + " is missing";
		}
		List<String> wrong = new ArrayList<>();
		Object price = row.get("price");
		if (price != null && kept.price()
				&& new BigDecimal(price.toString()).movePointRight(2).longValueExact() != expected.priceCents()) {
			wrong.add("price " + price);
		}
		Object priceCents = row.get("price_cents");
		if (priceCents != null && Long.parseLong(priceCents.toString()) != expected.priceCents()) {
			wrong.add("price_cents " + priceCents);
		}
		if (Boolean.TRUE.equals(row.get("has_supplier_name")) && kept.supplier()
				&& !expected.supplier().equals(row.get("supplier_name"))) {
			wrong.add("supplier_name " + row.get("supplier_name"));
		}
		if (newTableComplete && !newSupplier.equals(List.of(expected.supplier()))) {
			wrong.add("product_suppliers " + newSupplier);
		}
		return wrong.isEmpty() ? null : "product " + id + " acknowledged as " + expected + " holds " + wrong;
	}

	private void awaitMoreWrites(int count) {
		long target = this.writes.get() + count;
		await().atMost(Duration.ofSeconds(120))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> this.writes.get() >= target || !this.failures.isEmpty());
	}

	private Instance start(Phase phase) {
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("spring.config.name=products", "zdm.instance-id=products-" + phase.value(),
				"zdm.fleet.heartbeat-interval=200ms", "zdm.fleet.timeout=5s", "zdm.fleet.join-timeout=10s",
				"spring.flyway.enabled=false"));
		for (String migration : MIGRATIONS) {
			properties.add("zdm.migrations." + migration + ".phase=" + phase.value());
			properties.add("zdm.migrations." + migration + ".backfill.pause=10ms");
		}
		ConfigurableApplicationContext context = new SpringApplicationBuilder(ProductServiceApplication.class)
			.properties(properties.toArray(String[]::new))
			.run();
		return new Instance(phase.value(), context, new AtomicInteger());
	}

	private void retire(Instance old) {
		this.rotation.remove(old);
		await().atMost(Duration.ofSeconds(120))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> old.inFlight().get() == 0);
		old.close();
	}

	private static void awaitEffective(Phase phase, Instance instance) {
		await().atMost(Duration.ofSeconds(240))
			.pollInterval(Duration.ofMillis(200))
			.until(() -> MIGRATIONS.stream()
				.allMatch((migration) -> instance.controller().status(migration).effective() == phase));
	}

	private static void awaitVerified(Instance instance) {
		await().atMost(Duration.ofSeconds(240))
			.pollInterval(Duration.ofMillis(200))
			.until(() -> MIGRATIONS.stream()
				.allMatch((migration) -> instance.controller().status(migration).state().isVerified()));
	}

	private static List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'products'",
					String.class);
	}

	private static Object lock(long id) {
		return LOCKS[(int) (id % LOCKS.length)];
	}

	/**
	 * Which old columns the writes are synced to.
	 *
	 * @param price whether the trigger keeps {@code price}
	 * @param supplier whether {@code supplier_name} is still written
	 */
	private record OldColumns(boolean price, boolean supplier) {

	}

	private record Instance(String name, ConfigurableApplicationContext context, AtomicInteger inFlight) {

		ProductService service() {
			return this.context.getBean(ProductService.class);
		}

		PhaseController controller() {
			return this.context.getBean(PhaseController.class);
		}

		Phase phase() {
			return controller().effectivePhase("products-supplier");
		}

		void close() {
			this.context.close();
		}

	}

}
