package dev.zdm.jpa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.IntStream;

import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import org.flywaydb.core.Flyway;
import org.hibernate.SessionFactory;
import org.hibernate.stat.Statistics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
import dev.zdm.jpa.customers.CustomerSummaryEntity;
import dev.zdm.jpa.customers.OldCustomerEntities;
import dev.zdm.jpa.members.Member;
import dev.zdm.jpa.members.MemberRepository;
import dev.zdm.jpa.members.OldMemberEntity;
import dev.zdm.jpa.members.OldMembers;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * What Hibernate's persistence context does when one transaction touches both shapes of a
 * table that a same-table migration keeps in sync, at {@code read-new} (writes go through
 * the new shape, the trigger fills the old columns): which reads see the write, which are
 * stale, and which mappings can overwrite it.
 */
class JpaPersistenceContextTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static ConfigurableApplicationContext context;

	private static TransactionTemplate transaction;

	private static EntityManager entityManager;

	private static MemberRepository members;

	private static CustomerRepository customers;

	@BeforeAll
	static void startAtReadNew() {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("spring.flyway.enabled=false", "zdm.fleet.heartbeat-interval=200ms",
				"spring.jpa.properties.hibernate.generate_statistics=true"));
		for (String migration : List.of("customers-email", "members-email", "shops-address")) {
			properties.add("zdm.migrations." + migration + ".phase=read-new");
			properties.add("zdm.migrations." + migration + ".backfill.pause=10ms");
		}
		context = new SpringApplicationBuilder(JpaServiceApplication.class)
			.properties(properties.toArray(String[]::new))
			.run();
		PhaseController phases = context.getBean(PhaseController.class);
		await().atMost(Duration.ofSeconds(120))
			.until(() -> phases.status("members-email").effective() == Phase.READ_NEW
					&& phases.status("customers-email").effective() == Phase.READ_NEW);
		transaction = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
		entityManager = context.getBean(EntityManager.class);
		members = context.getBean(MemberRepository.class);
		customers = context.getBean(CustomerRepository.class);
	}

	@AfterAll
	static void stop() {
		context.close();
	}

	@Test
	void readThroughTheOtherShapeWithoutAFlushMissesThePendingWrite() {
		long id = members.create("member", "before@example.com", 1).id();
		String read = inTransaction(() -> {
			members.updateEmail(id, "after@example.com");
			return oldShape().findById(id).orElseThrow().email();
		});
		assertThat(read).isEqualTo("before@example.com");
		assertThat(oldEmail("members", id)).isEqualTo("after@example.com");
	}

	@Test
	void readThroughTheOtherShapeAfterAFlushSeesTheWriteAsTheTriggerSyncedIt() {
		long id = members.create("member", "before@example.com", 1).id();
		String read = inTransaction(() -> {
			members.updateEmail(id, "after@example.com");
			entityManager.flush();
			return oldShape().findById(id).orElseThrow().email();
		});
		assertThat(read).isEqualTo("after@example.com");
	}

	@Test
	void entityOfTheOtherShapeLoadedBeforeTheWriteStaysStaleAfterAFlushUntilRefreshed() {
		long id = members.create("member", "before@example.com", 1).id();
		List<String> reads = inTransaction(() -> {
			OldMemberEntity loadedBefore = entityManager.find(OldMemberEntity.class, id);
			members.updateEmail(id, "after@example.com");
			entityManager.flush();
			String stale = oldShape().findById(id).orElseThrow().email();
			entityManager.refresh(loadedBefore);
			return List.of(stale, oldShape().findById(id).orElseThrow().email());
		});
		assertThat(reads).containsExactly("before@example.com", "after@example.com");
	}

	@Test
	void queryThroughTheOtherShapeFlushesThePendingWriteFirst() {
		long id = members.create("member", "before@example.com", 1).id();
		Long found = inTransaction(() -> {
			members.updateEmail(id, "queried@example.com");
			return oldShape().findByEmail("queried@example.com").map(Member::id).orElse(null);
		});
		assertThat(found).isEqualTo(id);
	}

	@Test
	void staleFullColumnEntityWithoutVersionOverwritesTheWriteOfTheOtherShape() {
		long id = customers.create("customer", "before@example.com", 100).id();
		inTransaction(() -> {
			CustomerSummaryEntity summary = entityManager.find(CustomerSummaryEntity.class, id);
			Customer read = customers.findById(id).orElseThrow();
			customers.update(id, read.version(), "after@example.com", 200);
			summary.setName("renamed");
			return null;
		});
		Map<String, Object> row = postgres.jdbc()
			.queryForMap("SELECT email, email_address, balance_cents FROM customers WHERE id = ?", id);
		assertThat(row).containsEntry("email", "before@example.com")
			.containsEntry("email_address", "before@example.com")
			.containsEntry("balance_cents", 200L);
	}

	@Test
	void staleFullColumnEntityWithVersionFailsInsteadOfOverwritingTheWriteOfTheOtherShape() {
		long id = customers.create("customer", "before@example.com", 100).id();
		OldCustomerEntities oldShape = context.getBean(OldCustomerEntities.class);
		assertThatExceptionOfType(ObjectOptimisticLockingFailureException.class).isThrownBy(() -> inTransaction(() -> {
			oldShape.findById(id).orElseThrow();
			Customer read = customers.findById(id).orElseThrow();
			customers.update(id, read.version(), "after@example.com", 200);
			oldShape.findById(id).orElseThrow();
			context.getBean(dev.zdm.jpa.customers.OldCustomers.class).updateName(id, "renamed");
			oldShape.flush();
			return null;
		}));
		assertThat(oldEmail("customers", id)).isEqualTo("before@example.com");
		assertThat(postgres.jdbc().queryForObject("SELECT email_address FROM customers WHERE id = ?", String.class, id))
			.isEqualTo("before@example.com");
	}

	@Test
	void dynamicUpdateEntityOfTheOtherShapeWritesOnlyWhatChanged() {
		long id = members.create("member", "before@example.com", 1).id();
		inTransaction(() -> {
			OldMemberEntity loadedBefore = entityManager.find(OldMemberEntity.class, id);
			members.updateEmail(id, "after@example.com");
			entityManager.flush();
			oldShape().updatePoints(id, 7);
			return loadedBefore;
		});
		Map<String, Object> row = postgres.jdbc()
			.queryForMap("SELECT email, email_address, points, points_total FROM members WHERE id = ?", id);
		assertThat(row).containsEntry("email", "after@example.com")
			.containsEntry("email_address", "after@example.com")
			.containsEntry("points", 7)
			.containsEntry("points_total", 7L);
	}

	@Test
	void batchedInsertsAreSyncedRowByRow() {
		Statistics statistics = context.getBean(EntityManagerFactory.class)
			.unwrap(SessionFactory.class)
			.getStatistics();
		statistics.clear();
		List<Draft> drafts = IntStream.range(0, 50)
			.mapToObj((i) -> new Draft("batched", "Batched." + i + "@Example.com", i))
			.toList();
		List<Long> ids = customers.createAll(drafts).stream().map(Customer::id).toList();
		assertThat(statistics.getEntityInsertCount()).isEqualTo(50);
		assertThat(statistics.getPrepareStatementCount()).as("statements prepared for 50 inserts").isLessThan(5);
		JdbcTemplate jdbc = postgres.jdbc();
		assertThat(jdbc.queryForList("SELECT id FROM customers WHERE id = ANY (?) AND email = email_address "
				+ "AND balance = balance_cents / 100.0", Long.class, (Object) ids.toArray(Long[]::new)))
			.containsExactlyInAnyOrderElementsOf(ids);
	}

	private static MemberRepository oldShape() {
		return context.getBean(OldMembers.class);
	}

	private static String oldEmail(String table, long id) {
		return postgres.jdbc().queryForObject("SELECT email FROM " + table + " WHERE id = ?", String.class, id);
	}

	private static <T> T inTransaction(Supplier<T> action) {
		return transaction.execute((status) -> action.get());
	}

}
