package dev.zdm.internal.dualwrite;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.TestEngine;
import dev.zdm.testing.TestFleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two migrations on one table with plain JDBC: {@code products.price} to
 * {@code price_cents} in the table (trigger), {@code products.supplier_name} into
 * {@code product_suppliers} (both implementations). Each write of the application uses
 * both routed repositories in one transaction. Two instances at adjacent phases, each on
 * a pool of its own, write concurrently through every pair of adjacent phases; every
 * acknowledged write is checked right after it and all of them after each phase.
 */
class TwoMigrationsOnOneTableJdbcTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final MigrationDefinition PRICE = MigrationDefinition.builder("products-price")
		.table("products")
		.up("price_cents", "(price * 100)::bigint")
		.down("price", "price_cents / 100.0")
		.build();

	private static final MigrationDefinition SUPPLIER = MigrationDefinition.builder("products-supplier")
		.table("products")
		.targetTable("product_suppliers")
		.targetKey("product_id")
		.build();

	private static final int WRITES = 150;

	private static JdbcTemplate jdbc;

	private final List<PhaseController> controllers = new ArrayList<>();

	private final Map<Long, long[]> acknowledged = new ConcurrentHashMap<>();

	@BeforeAll
	static void createTables() {
		jdbc = postgres.jdbc();
		jdbc.execute("CREATE SEQUENCE products_id_seq");
		jdbc.execute("CREATE TABLE products (id bigint PRIMARY KEY DEFAULT nextval('products_id_seq'), name text, "
				+ "price numeric(12,2), price_cents bigint, supplier_name text)");
		jdbc.execute("CREATE TABLE product_suppliers (product_id bigint PRIMARY KEY REFERENCES products (id) "
				+ "ON DELETE CASCADE, supplier_name text)");
		new SameTableSyncTrigger(postgres.dataSource())
			.expandStatements(PRICE.toBuilder().table("public.products").build())
			.forEach(jdbc::execute);
	}

	@AfterEach
	void stopControllers() {
		this.controllers.forEach(PhaseController::stop);
	}

	@Test
	void writersUsingBothMigrationsInOneTransactionLoseNoAcknowledgedWriteAtAnyPhase() throws Exception {
		MigrationStateRepository states = new MigrationStateRepository(postgres.dataSource());
		List<Phase> phases = List.of(Phase.EXPAND, Phase.DUAL_WRITE, Phase.BACKFILL, Phase.READ_NEW, Phase.CONTRACT);
		for (int i = 0; i + 1 < phases.size(); i++) {
			Phase behind = phases.get(i);
			Phase ahead = phases.get(i + 1);
			if (ahead == Phase.READ_NEW) {
				jdbc.update("INSERT INTO product_suppliers SELECT id, supplier_name FROM products "
						+ "ON CONFLICT (product_id) DO UPDATE SET supplier_name = excluded.supplier_name");
				states.markVerified(PRICE.id(), "test");
				states.markVerified(SUPPLIER.id(), "test");
			}
			Service a = service(behind, "a" + i);
			Service b = service(ahead, "b" + i);
			assertThat(a.controller.effectivePhase(SUPPLIER.id())).isEqualTo(behind);
			assertThat(b.controller.effectivePhase(SUPPLIER.id())).isEqualTo(ahead);
			List<Throwable> failures = new CopyOnWriteArrayList<>();
			List<Thread> writers = List.of(new Thread(() -> traffic(a, failures)),
					new Thread(() -> traffic(a, failures)), new Thread(() -> traffic(b, failures)),
					new Thread(() -> traffic(b, failures)));
			writers.forEach(Thread::start);
			for (Thread writer : writers) {
				writer.join();
			}
			assertThat(failures).as("failed or lost writes at %s and %s", behind, ahead).isEmpty();
			this.acknowledged.forEach((id, expected) -> assertThat(disagreement(id, expected, ahead.readsNew()))
				.as("product %d after %s and %s", id, behind, ahead)
				.isNull());
			this.controllers.forEach(PhaseController::stop);
			this.controllers.clear();
		}
	}

	private void traffic(Service service, List<Throwable> failures) {
		ThreadLocalRandom random = ThreadLocalRandom.current();
		List<Long> mine = new ArrayList<>();
		try {
			for (int i = 0; i < WRITES; i++) {
				long cents = random.nextLong(1, 10_000_000);
				long supplier = random.nextLong(1_000_000);
				long id;
				if (mine.isEmpty() || random.nextInt(4) == 0) {
					id = service.create(cents, supplier);
					mine.add(id);
				}
				else {
					id = mine.get(random.nextInt(mine.size()));
					service.update(id, cents, supplier);
				}
				long[] expected = { cents, supplier };
				this.acknowledged.put(id, expected);
				String disagreement = disagreement(id, expected, false);
				if (disagreement != null) {
					failures.add(new AssertionError(disagreement));
				}
			}
		}
		catch (Throwable ex) {
			failures.add(ex);
		}
	}

	private static String disagreement(long id, long[] expected, boolean newTableComplete) {
		Map<String, Object> row = jdbc.queryForMap(
				"SELECT p.price, p.price_cents, p.supplier_name, s.supplier_name AS new_supplier FROM products p "
						+ "LEFT JOIN product_suppliers s ON s.product_id = p.id WHERE p.id = ?",
				id);
		String supplier = "supplier " + expected[1];
		boolean held = ((BigDecimal) row.get("price")).movePointRight(2).longValueExact() == expected[0]
				&& ((Number) row.get("price_cents")).longValue() == expected[0]
				&& supplier.equals(row.get("supplier_name"))
				&& (!newTableComplete || supplier.equals(row.get("new_supplier")));
		return held ? null
				: "product " + id + " acknowledged as " + expected[0] + " cents, " + supplier + " holds " + row;
	}

	private Service service(Phase phase, String instance) {
		DataSource dataSource = postgres.newDataSource(instance, 4);
		PhaseController controller = TestEngine.phaseController(dataSource,
				List.of(PRICE.toBuilder().requestedPhase(phase).build(),
						SUPPLIER.toBuilder().requestedPhase(phase).build()),
				InstanceInfo.ofThisProcess(instance, "test", "1"), TestFleet.SETTINGS, List.of());
		controller.start();
		this.controllers.add(controller);
		DataSourceTransactionManager transactionManager = new DataSourceTransactionManager(dataSource);
		JdbcClient client = JdbcClient.create(dataSource);
		Prices prices = DualWriteRepositoryFactory.create(Prices.class, PRICE.id(), new OldPrices(client),
				new NewPrices(client), controller, transactionManager, new MigrationStateRepository(dataSource));
		Suppliers suppliers = DualWriteRepositoryFactory.create(Suppliers.class, SUPPLIER.id(),
				new OldSuppliers(client), new NewSuppliers(client), controller, transactionManager,
				new MigrationStateRepository(dataSource));
		return new Service(controller, new TransactionTemplate(transactionManager), prices, suppliers);
	}

	private record Service(PhaseController controller, TransactionTemplate transaction, Prices prices,
			Suppliers suppliers) {

		long create(long cents, long supplier) {
			return this.transaction.execute((status) -> {
				long id = this.prices.create(cents);
				this.suppliers.setSupplier(id, "supplier " + supplier);
				return id;
			});
		}

		void update(long id, long cents, long supplier) {
			this.transaction.executeWithoutResult((status) -> {
				this.prices.updatePrice(id, cents);
				this.suppliers.setSupplier(id, "supplier " + supplier);
			});
		}

	}

	interface Prices {

		long create(long cents);

		void updatePrice(long id, long cents);

	}

	interface Suppliers {

		void setSupplier(long id, String supplier);

	}

	record OldPrices(JdbcClient client) implements Prices {

		@Override
		public long create(long cents) {
			return this.client.sql("INSERT INTO products (name, price) VALUES ('product', ?) RETURNING id")
				.param(BigDecimal.valueOf(cents, 2))
				.query(Long.class)
				.single();
		}

		@Override
		public void updatePrice(long id, long cents) {
			this.client.sql("UPDATE products SET price = ? WHERE id = ?")
				.params(BigDecimal.valueOf(cents, 2), id)
				.update();
		}

	}

	record NewPrices(JdbcClient client) implements Prices {

		@Override
		public long create(long cents) {
			return this.client.sql("INSERT INTO products (name, price_cents) VALUES ('product', ?) RETURNING id")
				.param(cents)
				.query(Long.class)
				.single();
		}

		@Override
		public void updatePrice(long id, long cents) {
			this.client.sql("UPDATE products SET price_cents = ? WHERE id = ?").params(cents, id).update();
		}

	}

	record OldSuppliers(JdbcClient client) implements Suppliers {

		@Override
		public void setSupplier(long id, String supplier) {
			this.client.sql("UPDATE products SET supplier_name = ? WHERE id = ?").params(supplier, id).update();
		}

	}

	record NewSuppliers(JdbcClient client) implements Suppliers {

		@Override
		public void setSupplier(long id, String supplier) {
			this.client
				.sql("INSERT INTO product_suppliers (product_id, supplier_name) VALUES (?, ?) "
						+ "ON CONFLICT (product_id) DO UPDATE SET supplier_name = excluded.supplier_name")
				.params(id, supplier)
				.update();
		}

	}

}
