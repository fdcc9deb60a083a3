package dev.zdm.jpa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.jpa.customers.Customer;
import dev.zdm.jpa.customers.CustomerRepository;
import dev.zdm.jpa.customers.CustomerRepository.Draft;
import dev.zdm.jpa.members.Member;
import dev.zdm.jpa.members.MemberRepository;
import dev.zdm.jpa.members.NewMembers;
import dev.zdm.jpa.members.OldMembers;
import dev.zdm.jpa.shops.Shop;
import dev.zdm.jpa.shops.ShopRepository;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A JPA service, two instances of it on one database, each replaced one at a time at
 * every phase from {@code expand} to {@code contract}, while writers insert, update and
 * delete through the routed repositories the whole time, exercising Hibernate's
 * behaviours: full-column updates and {@code @DynamicUpdate}, JDBC batching,
 * {@code @Version} (two writers on the same rows), a flush before a query, and a read
 * through the other shape right after a write in the same transaction. Old and new must
 * agree at every step, and no acknowledged write may be lost.
 */
class JpaServiceWalkTests {

	private static final AtomicLong EMAILS = new AtomicLong();

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final List<String> MIGRATIONS = List.of("customers-email", "members-email", "shops-address");

	private static final int EXISTING_ROWS = 2_000;

	private static final int SHARED_CUSTOMERS = 20;

	private static final int WRITERS = 3;

	// Traffic at each step, before old and new are compared: acknowledged writes served
	// by every instance in the rotation, and reads through the other shape.
	private static final int WRITES_PER_INSTANCE_PER_STEP = 150;

	private static final int CROSS_SHAPE_READS_PER_STEP = 12;

	private final List<Instance> rotation = new CopyOnWriteArrayList<>();

	private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();

	private final Map<Long, ExpectedCustomer> customers = new ConcurrentHashMap<>();

	private final Map<Long, Member> members = new ConcurrentHashMap<>();

	private final Map<Long, Shop> shops = new ConcurrentHashMap<>();

	private final Map<Long, Boolean> deletedCustomers = new ConcurrentHashMap<>();

	private final Map<Long, Boolean> deletedMembers = new ConcurrentHashMap<>();

	private final Map<Long, Boolean> deletedShops = new ConcurrentHashMap<>();

	/** Every successful write of a shared customer, by id and the version it wrote. */
	private final Map<Long, Map<Long, Customer>> sharedWrites = new ConcurrentHashMap<>();

	private final AtomicLong writes = new AtomicLong();

	private final AtomicLong optimisticFailures = new AtomicLong();

	private final AtomicLong crossShapeReads = new AtomicLong();

	@Test
	void jpaServiceMovesThroughEveryPhaseUnderConcurrentWritesWithoutDisagreementOrLostWrites() throws Exception {
		createTablesWithExistingRows();
		Instance previous = start("expand", Phase.EXPAND);
		this.rotation.add(previous);
		AtomicBoolean running = new AtomicBoolean(true);
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < WRITERS; i++) {
			threads.add(new Thread(() -> ownedRowsTraffic(running), "owner-" + i));
		}
		for (int i = 0; i < 2; i++) {
			threads.add(new Thread(() -> sharedRowsTraffic(running), "shared-" + i));
		}
		threads.forEach(Thread::start);
		try {
			awaitTraffic(CROSS_SHAPE_READS_PER_STEP);
			assertOldAndNewAgree(Phase.EXPAND);
			// Leapfrog: each new instance runs one phase ahead of the one it replaces,
			// side by side for a while.
			for (Phase phase : List.of(Phase.DUAL_WRITE, Phase.BACKFILL, Phase.READ_NEW, Phase.CONTRACT)) {
				Instance next = start(phase.value(), phase);
				this.rotation.add(next);
				awaitEffective(phase, next);
				if (phase == Phase.BACKFILL) {
					// zdm's own backfill copies the existing shop addresses into
					// shop_addresses and verifies them.
					awaitVerified(next);
				}
				awaitTraffic(CROSS_SHAPE_READS_PER_STEP);
				assertOldAndNewAgree(phase);
				retire(previous);
				previous = next;
			}
			await().atMost(Duration.ofSeconds(180))
				.pollInterval(Duration.ofMillis(200))
				.until(() -> !columns("customers").contains("email") && !columns("members").contains("email")
						&& !columns("shops").contains("street"));
			// contracted: there is no other shape to read through
			awaitTraffic(0);
		}
		finally {
			running.set(false);
			for (Thread thread : threads) {
				thread.join();
			}
			this.rotation.forEach(Instance::close);
		}
		assertThat(this.failures).as("failed operations").isEmpty();
		assertThat(this.writes.get()).as("writes").isGreaterThan(1_000);
		assertThat(this.crossShapeReads.get()).as("reads through the other shape").isGreaterThan(50);
		assertNoWriteLost();
	}

	private void createTablesWithExistingRows() {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.update("INSERT INTO customers (id, name, email, balance) SELECT i, 'customer ' || i, "
				+ "CASE WHEN i <= ? THEN 'shared.' || i || '@example.com' ELSE 'Customer.' || i || '@Example.com' END, "
				+ "i / 100.0 FROM generate_series(1, ?) AS i", SHARED_CUSTOMERS, EXISTING_ROWS);
		jdbc.update("INSERT INTO members (id, name, email, points) "
				+ "SELECT i, 'member ' || i, 'Member.' || i || '@Example.com', i " + "FROM generate_series(1, ?) AS i",
				EXISTING_ROWS);
		jdbc.update("INSERT INTO shops (id, name, street, city) "
				+ "SELECT i, 'shop ' || i, i || ' Main Street', 'City ' || i " + "FROM generate_series(1, ?) AS i",
				EXISTING_ROWS);
		for (String sequence : List.of("customers_id_seq", "members_id_seq", "shops_id_seq")) {
			jdbc.queryForObject("SELECT setval(?, ?)", Long.class, sequence, EXISTING_ROWS + 100);
		}
	}

	/**
	 * Same table: until the backfill is verified, existing rows may have no new values
	 * yet; every row that has them agrees. From {@code read-new} on, every row agrees.
	 * Other table: once zdm's backfill is verified, no shop is missing, extra or
	 * different.
	 */
	private void assertOldAndNewAgree(Phase phase) {
		JdbcTemplate jdbc = postgres.jdbc();
		String notYetBackfilled = phase.readsNew() ? "false" : "%s IS NULL AND %s IS NULL";
		assertThat(jdbc.queryForList("SELECT id, email, email_address, balance, balance_cents FROM customers "
				+ "WHERE NOT (" + notYetBackfilled.formatted("email_address", "balance_cents") + ") AND "
				+ "(email_address IS DISTINCT FROM lower(email) "
				+ "OR balance_cents IS DISTINCT FROM (balance * 100)::bigint)"))
			.as("customers whose old and new columns disagree at %s", phase)
			.isEmpty();
		assertThat(jdbc.queryForList("SELECT id, email, email_address, points, points_total FROM members "
				+ "WHERE NOT (" + notYetBackfilled.formatted("email_address", "points_total") + ") AND "
				+ "(email_address IS DISTINCT FROM lower(email) OR points_total IS DISTINCT FROM points)"))
			.as("members whose old and new columns disagree at %s", phase)
			.isEmpty();
		if (phase.isAtLeast(Phase.BACKFILL)) {
			assertThat(jdbc.queryForList("SELECT s.id, s.street, s.city, a.shop_id, a.street, a.city "
					+ "FROM shops s FULL JOIN shop_addresses a ON a.shop_id = s.id "
					+ "WHERE s.id IS NULL OR a.shop_id IS NULL "
					+ "OR s.street IS DISTINCT FROM a.street OR s.city IS DISTINCT FROM a.city"))
				.as("shops missing, extra or different in shop_addresses at %s", phase)
				.isEmpty();
		}
	}

	private void assertNoWriteLost() {
		JdbcTemplate jdbc = postgres.jdbc();
		Map<Long, Map<String, Object>> customerRows = byId(
				jdbc.queryForList("SELECT id, name, email_address, balance_cents, version FROM customers"));
		this.customers.forEach((id, expected) -> {
			Map<String, Object> row = customerRows.get(id);
			if (this.deletedCustomers.containsKey(id)) {
				assertThat(row).as("customer %d was deleted", id).isNull();
				return;
			}
			assertThat(row).as("customer %d", id).isNotNull();
			assertThat(row.get("name")).as("name of customer %d", id).isEqualTo(expected.name());
			assertThat(row.get("email_address")).as("e-mail of customer %d", id).isEqualTo(expected.email());
			assertThat(row.get("balance_cents")).as("balance of customer %d", id).isEqualTo(expected.balanceCents());
		});
		for (long id = 1; id <= SHARED_CUSTOMERS; id++) {
			Map<String, Object> row = customerRows.get(id);
			Map<Long, Customer> written = this.sharedWrites.getOrDefault(id, Map.of());
			if (written.isEmpty()) {
				continue;
			}
			Customer last = written.get(written.keySet().stream().max(Long::compare).orElseThrow());
			assertThat(row.get("version")).as("version of shared customer %d", id).isEqualTo(last.version());
			assertThat(row.get("email_address")).as("e-mail of shared customer %d", id).isEqualTo(last.email());
			assertThat(row.get("balance_cents")).as("balance of shared customer %d", id).isEqualTo(last.balanceCents());
		}
		assertThat(jdbc.queryForObject(
				"SELECT count(*) FROM customers WHERE id > ? AND id <= ? AND "
						+ "(email_address <> lower('Customer.' || id || '@Example.com') OR balance_cents <> id)",
				Integer.class, SHARED_CUSTOMERS, EXISTING_ROWS))
			.as("existing customers changed")
			.isZero();
		Map<Long, Map<String, Object>> memberRows = byId(
				jdbc.queryForList("SELECT id, name, email_address, points_total FROM members"));
		this.members.forEach((id, expected) -> {
			Map<String, Object> row = memberRows.get(id);
			if (this.deletedMembers.containsKey(id)) {
				assertThat(row).as("member %d was deleted", id).isNull();
				return;
			}
			assertThat(row).as("member %d", id).isNotNull();
			assertThat(row.get("email_address")).as("e-mail of member %d", id).isEqualTo(expected.email());
			assertThat(row.get("points_total")).as("points of member %d", id).isEqualTo(expected.points());
		});
		Map<Long, Map<String, Object>> shopRows = byId(jdbc.queryForList(
				"SELECT s.id, s.name, a.street, a.city FROM shops s LEFT JOIN shop_addresses a ON a.shop_id = s.id"));
		this.shops.forEach((id, expected) -> {
			Map<String, Object> row = shopRows.get(id);
			if (this.deletedShops.containsKey(id)) {
				assertThat(row).as("shop %d was deleted", id).isNull();
				return;
			}
			assertThat(row).as("shop %d", id).isNotNull();
			assertThat(row.get("name")).as("name of shop %d", id).isEqualTo(expected.name());
			assertThat(row.get("street")).as("street of shop %d", id).isEqualTo(expected.street());
			assertThat(row.get("city")).as("city of shop %d", id).isEqualTo(expected.city());
		});
		assertThat(jdbc.queryForObject(
				"SELECT count(*) FROM shop_addresses WHERE shop_id <= ? " + "AND street <> shop_id || ' Main Street'",
				Integer.class, EXISTING_ROWS))
			.as("existing shop addresses changed")
			.isZero();
		assertThat(jdbc.queryForObject("SELECT count(*) FROM shops s WHERE NOT EXISTS "
				+ "(SELECT 1 FROM shop_addresses a WHERE a.shop_id = s.id)", Integer.class))
			.as("shops without an address")
			.isZero();
	}

	private void ownedRowsTraffic(AtomicBoolean running) {
		List<Long> myCustomers = new ArrayList<>();
		List<Long> myMembers = new ArrayList<>();
		List<Long> myShops = new ArrayList<>();
		while (running.get()) {
			Instance instance = any();
			int dice = ThreadLocalRandom.current().nextInt(100);
			try {
				if (dice < 35) {
					customerOperation(instance, myCustomers, dice);
				}
				else if (dice < 70) {
					memberOperation(instance, myMembers, dice - 35);
				}
				else {
					shopOperation(instance, myShops, dice - 70);
				}
				this.writes.incrementAndGet();
				instance.served().incrementAndGet();
			}
			catch (RuntimeException ex) {
				this.failures.add(instance.name() + " (" + instance.phase() + "): " + ex);
			}
			finally {
				instance.inFlight().decrementAndGet();
			}
		}
	}

	private void customerOperation(Instance instance, List<Long> mine, int dice) {
		CustomerRepository repository = instance.bean(CustomerRepository.class);
		ThreadLocalRandom random = ThreadLocalRandom.current();
		if (mine.isEmpty() || dice < 6) {
			Customer created = repository.create("customer", email("new"), random.nextLong(1_000_000));
			remember(created);
			mine.add(created.id());
		}
		else if (dice < 10) {
			List<Draft> drafts = Stream.generate(() -> new Draft("batched", email("batch"), random.nextLong(1_000_000)))
				.limit(5)
				.toList();
			for (Customer created : repository.createAll(drafts)) {
				remember(created);
				mine.add(created.id());
			}
		}
		else if (dice < 20) {
			long id = pick(mine);
			Customer read = repository.findById(id).orElseThrow();
			check("customer", id, read.email(), this.customers.get(id).email(), instance);
			remember(repository.update(id, read.version(), email("changed"), random.nextLong(1_000_000)));
		}
		else if (dice < 27) {
			// A rename leaves the e-mail pending; the query by e-mail flushes it first.
			long id = pick(mine);
			String name = "renamed " + random.nextInt(1_000_000);
			ExpectedCustomer expected = this.customers.get(id);
			Customer found = instance.inTransaction(() -> {
				repository.updateName(id, name);
				return repository.findByEmail(expected.email()).orElseThrow();
			});
			check("customer renamed before a query", id, found.name(), name, instance);
			this.customers.put(id, new ExpectedCustomer(name, expected.email(), expected.balanceCents()));
		}
		else if (dice < 31) {
			long id = pick(mine);
			check("customer", id, repository.findById(id).map(Customer::email).orElse(null),
					this.customers.get(id).email(), instance);
		}
		else {
			long id = mine.remove(random.nextInt(mine.size()));
			repository.deleteById(id);
			this.deletedCustomers.put(id, true);
		}
	}

	private void remember(Customer customer) {
		ExpectedCustomer previous = this.customers.get(customer.id());
		this.customers.put(customer.id(), new ExpectedCustomer((previous != null) ? previous.name() : customer.name(),
				customer.email(), customer.balanceCents()));
	}

	private void memberOperation(Instance instance, List<Long> mine, int dice) {
		MemberRepository repository = instance.bean(MemberRepository.class);
		ThreadLocalRandom random = ThreadLocalRandom.current();
		if (mine.isEmpty() || dice < 6) {
			Member created = repository.create("member", email("new"), random.nextInt(1_000_000));
			this.members.put(created.id(), created);
			mine.add(created.id());
		}
		else if (dice < 10) {
			List<Member> drafts = Stream.generate(() -> new Member(0, "batched", email("batch"), random.nextInt(1_000)))
				.limit(5)
				.toList();
			for (Member created : repository.createAll(drafts)) {
				this.members.put(created.id(), created);
				mine.add(created.id());
			}
		}
		else if (dice < 16) {
			// Both writes are pending until the query: Hibernate flushes them before it
			// runs.
			long id = pick(mine);
			String email = email("queried");
			long points = random.nextInt(1_000_000);
			Member found = instance.inTransaction(() -> {
				repository.updateEmail(id, email);
				repository.updatePoints(id, points);
				return repository.findByEmail(email).orElse(null);
			});
			check("member updated before a query", id, (found != null) ? found.points() : null, points, instance);
			this.members.put(id, new Member(id, "member", email, points));
		}
		else if (dice < 24) {
			// Written through the phase's shape, then read through the other shape in the
			// same transaction, after
			// a flush: the trigger has kept the other shape's columns in step.
			long id = pick(mine);
			String email = email("crossed");
			Member read = instance.inTransaction(() -> {
				Phase phase = instance.controller().effectivePhase("members-email");
				repository.updateEmail(id, email);
				instance.flush();
				if (phase == Phase.CONTRACT) {
					return repository.findById(id).orElseThrow();
				}
				MemberRepository otherShape = phase.readsNew() ? instance.bean(OldMembers.class)
						: instance.bean(NewMembers.class);
				this.crossShapeReads.incrementAndGet();
				return otherShape.findById(id).orElseThrow();
			});
			check("member read through the other shape", id, read.email(), email, instance);
			this.members.put(id, new Member(id, "member", email, this.members.get(id).points()));
		}
		else if (dice < 28) {
			long id = pick(mine);
			check("member", id, repository.findById(id).map(Member::email).orElse(null), this.members.get(id).email(),
					instance);
		}
		else {
			long id = mine.remove(random.nextInt(mine.size()));
			repository.deleteById(id);
			this.deletedMembers.put(id, true);
		}
	}

	private void shopOperation(Instance instance, List<Long> mine, int dice) {
		ShopRepository repository = instance.bean(ShopRepository.class);
		ThreadLocalRandom random = ThreadLocalRandom.current();
		if (mine.isEmpty() || dice < 8) {
			Shop created = repository.create("shop", random.nextInt(1_000) + " New Street", "Town");
			this.shops.put(created.id(), created);
			mine.add(created.id());
		}
		else if (dice < 16) {
			long id = pick(mine);
			String street = random.nextInt(1_000) + " Moved Street";
			repository.updateAddress(id, street, "Elsewhere");
			Shop previous = this.shops.get(id);
			this.shops.put(id, new Shop(id, previous.name(), street, "Elsewhere"));
		}
		else if (dice < 21) {
			long id = pick(mine);
			String name = "shop " + random.nextInt(1_000_000);
			repository.updateName(id, name);
			Shop previous = this.shops.get(id);
			this.shops.put(id, new Shop(id, name, previous.street(), previous.city()));
		}
		else if (dice < 26) {
			long id = pick(mine);
			check("shop", id, repository.findById(id).orElse(null), this.shops.get(id), instance);
		}
		else {
			long id = mine.remove(random.nextInt(mine.size()));
			repository.deleteById(id);
			this.deletedShops.put(id, true);
		}
	}

	/**
	 * Two of these run at once on the same few existing customers, each reading a
	 * customer and writing it back with the version it read, through whichever instance:
	 * at adjacent phases one writes the old shape and the other the new. {@code @Version}
	 * refuses a write based on a stale read; every write that succeeds must be the one
	 * the row ends with, or be followed by a later version.
	 */
	private void sharedRowsTraffic(AtomicBoolean running) {
		while (running.get()) {
			Instance instance = any();
			long id = ThreadLocalRandom.current().nextLong(1, SHARED_CUSTOMERS + 1);
			try {
				CustomerRepository repository = instance.bean(CustomerRepository.class);
				Customer read = repository.findById(id).orElseThrow();
				Customer written = repository.update(id, read.version(), email("shared"),
						ThreadLocalRandom.current().nextLong(1_000_000));
				this.sharedWrites.computeIfAbsent(id, (key) -> new ConcurrentHashMap<>())
					.put(written.version(), written);
				this.writes.incrementAndGet();
			}
			catch (ObjectOptimisticLockingFailureException ex) {
				this.optimisticFailures.incrementAndGet();
			}
			catch (RuntimeException ex) {
				this.failures.add(instance.name() + " (" + instance.phase() + "), shared customer " + id + ": " + ex);
			}
			finally {
				instance.inFlight().decrementAndGet();
			}
		}
	}

	private void check(String what, long id, Object actual, Object expected, Instance instance) {
		if (!java.util.Objects.equals(actual, expected)) {
			this.failures.add(what + " " + id + " on " + instance.name() + " (" + instance.phase() + ") gave " + actual
					+ ", expected " + expected);
		}
	}

	/**
	 * Pick a live instance and count an operation in flight on it; the caller ends it
	 * with {@code done()}.
	 */
	private Instance any() {
		while (true) {
			Instance[] live = this.rotation.toArray(new Instance[0]);
			Instance instance = live[ThreadLocalRandom.current().nextInt(live.length)];
			instance.inFlight().incrementAndGet();
			if (this.rotation.contains(instance)) {
				return instance;
			}
			instance.inFlight().decrementAndGet();
		}
	}

	private static long pick(List<Long> ids) {
		return ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
	}

	// unique: the scenario looks rows up by e-mail, and two random ones out of 100
	// million once met among the walk's thousands of rows (a query found 2 results)
	private static String email(String prefix) {
		return prefix + "." + EMAILS.incrementAndGet() + "@example.com";
	}

	private Instance start(String slot, Phase phase) {
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("zdm.instance-id=" + slot + "-" + phase.value(), "zdm.fleet.heartbeat-interval=200ms",
				"zdm.fleet.timeout=5s", "zdm.fleet.join-timeout=10s", "spring.flyway.enabled=false"));
		for (String migration : MIGRATIONS) {
			properties.add("zdm.migrations." + migration + ".phase=" + phase.value());
			properties.add("zdm.migrations." + migration + ".backfill.initial-batch-size=500");
			properties.add("zdm.migrations." + migration + ".backfill.pause=10ms");
		}
		ConfigurableApplicationContext context = new SpringApplicationBuilder(JpaServiceApplication.class)
			.properties(properties.toArray(String[]::new))
			.run();
		return new Instance(slot + "-" + phase.value(), context);
	}

	/**
	 * Take an instance out of the rotation and close it once the operations it is serving
	 * are done, as a rolling deploy drains an instance before stopping it.
	 */
	private void retire(Instance old) {
		this.rotation.remove(old);
		await().atMost(Duration.ofSeconds(120))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> old.inFlight().get() == 0);
		old.close();
	}

	/**
	 * Wait until every instance in the rotation has served a number of writes more, and
	 * the writers have read through the other shape a number of times more: traffic
	 * through both shapes, counted, rather than a while of it.
	 * @param crossShapeReadsToWait reads through the other shape to wait for
	 */
	private void awaitTraffic(int crossShapeReadsToWait) {
		Map<Instance, Long> served = new HashMap<>();
		this.rotation.forEach((instance) -> served.put(instance, instance.served().get()));
		long crossShapeReads = this.crossShapeReads.get();
		await().atMost(Duration.ofSeconds(120))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> this.crossShapeReads.get() >= crossShapeReads + crossShapeReadsToWait && served.entrySet()
				.stream()
				.allMatch((entry) -> entry.getKey().served().get() >= entry.getValue() + WRITES_PER_INSTANCE_PER_STEP));
	}

	private static void awaitEffective(Phase phase, Instance... instances) {
		await().atMost(Duration.ofSeconds(240))
			.pollInterval(Duration.ofMillis(200))
			.until(() -> Stream.of(instances)
				.allMatch((instance) -> MIGRATIONS.stream()
					.allMatch((migration) -> instance.controller().status(migration).effective() == phase)));
	}

	private static void awaitVerified(Instance instance) {
		await().atMost(Duration.ofSeconds(240))
			.pollInterval(Duration.ofMillis(200))
			.until(() -> MIGRATIONS.stream()
				.allMatch((migration) -> instance.controller().status(migration).state().isVerified()));
	}

	private static List<String> columns(String table) {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = ?", String.class,
					table);
	}

	private static Map<Long, Map<String, Object>> byId(List<Map<String, Object>> rows) {
		Map<Long, Map<String, Object>> byId = new HashMap<>();
		rows.forEach((row) -> byId.put(((Number) row.get("id")).longValue(), row));
		return byId;
	}

	private record ExpectedCustomer(String name, String email, long balanceCents) {

	}

	private record Instance(String name, ConfigurableApplicationContext context, AtomicInteger inFlight,
			AtomicLong served) {

		Instance(String name, ConfigurableApplicationContext context) {
			this(name, context, new AtomicInteger(), new AtomicLong());
		}

		<T> T bean(Class<T> type) {
			return this.context.getBean(type);
		}

		PhaseController controller() {
			return bean(PhaseController.class);
		}

		Phase phase() {
			return controller().effectivePhase("members-email");
		}

		<T> T inTransaction(java.util.function.Supplier<T> action) {
			return new TransactionTemplate(bean(PlatformTransactionManager.class)).execute((status) -> action.get());
		}

		void flush() {
			bean(jakarta.persistence.EntityManager.class).flush();
		}

		void close() {
			this.context.close();
		}

	}

}
