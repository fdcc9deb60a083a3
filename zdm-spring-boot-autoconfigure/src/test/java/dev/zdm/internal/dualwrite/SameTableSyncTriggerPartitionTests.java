package dev.zdm.internal.dualwrite;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the sync trigger installed on a partitioned table (PostgreSQL 13+) keeps the
 * new column in sync for writes through the parent and straight into a partition,
 * including a partition created or attached after the trigger was installed.
 */
class SameTableSyncTriggerPartitionTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void triggerOnThePartitionedParentCoversEveryPartitionIncludingLaterOnes() {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE events (id bigint PRIMARY KEY, city text, city_new text) PARTITION BY RANGE (id)");
		jdbc.execute("CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (1) TO (1000)");
		MigrationDefinition migration = MigrationDefinition.builder("events-city")
			.table("public.events")
			.up("city_new", "upper(city)")
			.down("city", "lower(city_new)")
			.build();
		new SameTableSyncTrigger(postgres.dataSource()).expandStatements(migration).forEach(jdbc::execute);
		jdbc.execute("CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (1000) TO (2000)");
		jdbc.execute("CREATE TABLE events_3 (id bigint NOT NULL, city text, city_new text)");
		jdbc.execute("ALTER TABLE events ATTACH PARTITION events_3 FOR VALUES FROM (2000) TO (3000)");
		jdbc.update("INSERT INTO events (id, city) VALUES (1, 'paris'), (1001, 'lyon'), (2001, 'nice')");
		jdbc.update("INSERT INTO events_3 (id, city) VALUES (2002, 'metz')");
		jdbc.update("INSERT INTO events_2 (id, city_new) VALUES (1002, 'BREST')");
		jdbc.update("UPDATE events_1 SET city = 'lille' WHERE id = 1");
		Map<Object, Object> rows = new java.util.TreeMap<>();
		jdbc.query("SELECT id, city, city_new FROM events", (rs) -> {
			rows.put(rs.getLong(1), rs.getString(2) + "/" + rs.getString(3));
		});
		assertThat(rows).containsExactly(Map.entry(1L, "lille/LILLE"), Map.entry(1001L, "lyon/LYON"),
				Map.entry(1002L, "brest/BREST"), Map.entry(2001L, "nice/NICE"), Map.entry(2002L, "metz/METZ"));
	}

}
