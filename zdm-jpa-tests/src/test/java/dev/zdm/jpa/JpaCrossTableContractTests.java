package dev.zdm.jpa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.jpa.shops.Shop;
import dev.zdm.jpa.shops.ShopRepository;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A cross-table migration on JPA at {@code contract}, in the window between the contract
 * DDL (which drops the old columns) and the instance's next heartbeat, while the instance
 * still believes the old side exists. The existing shops are first copied and verified by
 * zdm's backfill (contract needs a verified backfill); then the contract instance's
 * heartbeats run only at start-up, so the window lasts as long as the test needs.
 */
class JpaCrossTableContractTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void writesBetweenTheContractDdlAndTheNextHeartbeatSucceedOnTheNewSide() {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
		JdbcTemplate jdbc = postgres.jdbc();
		long kept = jdbc.queryForObject(
				"INSERT INTO shops (name, street, city) VALUES ('kept', '1 Old Street', " + "'Old Town') RETURNING id",
				Long.class);
		long deleted = jdbc.queryForObject("INSERT INTO shops (name, street, city) VALUES ('deleted', '2 Old Street', "
				+ "'Old Town') RETURNING id", Long.class);
		try (ConfigurableApplicationContext backfill = start("backfill", "200ms")) {
			// zdm's backfill copies the existing addresses and verifies them: contract
			// needs a verified backfill.
			PhaseController phases = backfill.getBean(PhaseController.class);
			await().atMost(Duration.ofSeconds(120)).until(() -> phases.status("shops-address").state().isVerified());
			assertThat(jdbc.queryForList("SELECT shop_id, street FROM shop_addresses ORDER BY shop_id"))
				.containsExactly(Map.of("shop_id", kept, "street", "1 Old Street"),
						Map.of("shop_id", deleted, "street", "2 Old Street"));
		}
		// as if the instance at backfill had left longer than the fleet timeout ago (3h
		// here, to keep the heartbeats at start-up): the contract waits for an instance
		// that left behind it until then
		jdbc.update("UPDATE zdm_instance SET left_at = left_at - interval '1 day' WHERE left_at IS NOT NULL");
		// and as a fleet that ran read-new before contract leaves it (this test skips
		// that
		// deploy; without it the first instance to ask for read-new or later has the
		// backfill verified again first)
		jdbc.update("UPDATE zdm_migration SET read_new_at = now() WHERE migration_id = 'shops-address'");
		try (ConfigurableApplicationContext context = start("contract", "1h")) {
			PhaseController phases = context.getBean(PhaseController.class);
			ShopRepository shops = context.getBean(ShopRepository.class);
			assertThat(phases.effectivePhase("shops-address")).isEqualTo(Phase.CONTRACT);
			await().atMost(Duration.ofSeconds(120)).until(() -> !columns().contains("street"));
			assertThat(phases.status("shops-address").state().isContracted()).as("known to this instance").isFalse();

			Shop created = shops.create("created", "3 New Street", "New Town");
			shops.updateAddress(kept, "4 Moved Street", "Elsewhere");
			shops.updateName(kept, "renamed");
			shops.deleteById(deleted);

			List<Map<String, Object>> rows = jdbc.queryForList("SELECT s.id, s.name, a.street, a.city FROM shops s "
					+ "LEFT JOIN shop_addresses a ON a.shop_id = s.id ORDER BY s.id");
			assertThat(rows).containsExactly(
					Map.of("id", kept, "name", "renamed", "street", "4 Moved Street", "city", "Elsewhere"),
					Map.of("id", created.id(), "name", "created", "street", "3 New Street", "city", "New Town"));
		}
	}

	/**
	 * Start an instance. With a heartbeat interval of {@code 1h} its heartbeats run only
	 * at start-up: the one that joins at {@code contract} runs the contract DDL right
	 * after it, and learns that the migration is contracted only at a heartbeat that
	 * never comes.
	 */
	private static ConfigurableApplicationContext start(String phase, String heartbeatInterval) {
		List<String> properties = new ArrayList<>(List.of(postgres.springProperties()));
		properties.addAll(List.of("spring.flyway.enabled=false", "zdm.fleet.heartbeat-interval=" + heartbeatInterval,
				"zdm.fleet.timeout=3h", "zdm.migrations.shops-address.phase=" + phase));
		return new SpringApplicationBuilder(JpaServiceApplication.class).properties(properties.toArray(String[]::new))
			.run();
	}

	private static List<String> columns() {
		return postgres.jdbc()
			.queryForList("SELECT column_name FROM information_schema.columns WHERE table_name = 'shops'",
					String.class);
	}

}
