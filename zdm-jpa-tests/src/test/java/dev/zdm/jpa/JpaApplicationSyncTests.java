package dev.zdm.jpa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.jpa.members.Member;
import dev.zdm.jpa.members.MemberRepository;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@code sync: application} with JPA: at {@code dual-write} the routed
 * repository writes through the entity class of both shapes ({@code BothMemberEntity})
 * and reads through the old shape's; a read after a write in the same transaction sees
 * the write, though no trigger and no flush of the application's made it visible.
 */
class JpaApplicationSyncTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static ConfigurableApplicationContext context;

	private static TransactionTemplate transaction;

	private static MemberRepository members;

	@BeforeAll
	static void startAtDualWrite() {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("spring.flyway.enabled=false", "zdm.fleet.heartbeat-interval=200ms",
				"zdm.migrations.members-email.phase=dual-write", "zdm.migrations.members-email.sync=application"));
		context = new SpringApplicationBuilder(JpaServiceApplication.class)
			.properties(properties.toArray(String[]::new))
			.run();
		PhaseController phases = context.getBean(PhaseController.class);
		await().atMost(Duration.ofSeconds(120))
			.until(() -> phases.status("members-email").effective() == Phase.DUAL_WRITE);
		transaction = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
		members = context.getBean(MemberRepository.class);
	}

	@AfterAll
	static void stop() {
		context.close();
	}

	@Test
	void aMemberCreatedAndReadInOneTransactionIsFoundThroughTheOldShape() {
		Member read = inTransaction(() -> {
			Member created = members.create("Ann", "Ann@Example.com", 3);
			return members.findById(created.id()).orElse(null);
		});
		assertThat(read).isNotNull();
		assertThat(read.email()).isEqualTo("Ann@Example.com");
		assertThat(postgres.jdbc()
			.queryForMap("SELECT email, email_address, points, points_total FROM members WHERE id = ?", read.id()))
			.containsEntry("email", "Ann@Example.com")
			.containsEntry("email_address", "ann@example.com")
			.containsEntry("points", 3)
			.containsEntry("points_total", 3L);
	}

	@Test
	void aMemberOfTheOldShapeLoadedBeforeAnUpdateReadsTheUpdateAfterIt() {
		long id = members.create("Bea", "Bea@Example.com", 1).id();
		List<String> reads = inTransaction(() -> {
			String before = members.findById(id).orElseThrow().email();
			members.updateEmail(id, "Bea@Example.org");
			return List.of(before, members.findById(id).orElseThrow().email());
		});
		assertThat(reads).containsExactly("Bea@Example.com", "Bea@Example.org");
		assertThat(postgres.jdbc().queryForObject("SELECT email_address FROM members WHERE id = ?", String.class, id))
			.isEqualTo("bea@example.org");
	}

	@Test
	void noTriggerIsInstalledOnTheTable() {
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'members'::regclass AND NOT tgisinternal",
					Integer.class))
			.isZero();
	}

	private static <T> T inTransaction(Supplier<T> action) {
		return transaction.execute((status) -> action.get());
	}

}
