package dev.zdm.internal.fleet;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.Driver;

import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for {@link ZdmSchema} with zdm's tables in a schema of their own.
 */
class ZdmSchemaTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void instancesStartingTogetherCreateTheSchemaAndTheTablesOnce() throws Exception {
		int instances = 4;
		CyclicBarrier barrier = new CyclicBarrier(instances);
		ExecutorService executor = Executors.newFixedThreadPool(instances);
		// each instance on a pool of its own, as instances have: with one pool of 8 for
		// all four, a build once timed out after 30 s getting Flyway's connection for
		// the instance holding the lock, the pool at 4 connections, all held
		List<HikariDataSource> pools = new ArrayList<>();
		try {
			List<Future<?>> started = new ArrayList<>();
			for (int i = 0; i < instances; i++) {
				HikariDataSource dataSource = postgres.newDataSource("together-" + i, 4);
				pools.add(dataSource);
				started.add(executor.submit(() -> {
					barrier.await();
					new ZdmSchema(dataSource, ZdmTables.inSchema("together")).migrate();
					return null;
				}));
			}
			for (Future<?> future : started) {
				future.get();
			}
		}
		finally {
			executor.shutdownNow();
			pools.forEach(HikariDataSource::close);
		}
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) = count(DISTINCT version) AND bool_and(success) "
					+ "FROM together.zdm_schema_history WHERE version IS NOT NULL", Boolean.class))
			.as("each of zdm's scripts applied once")
			.isTrue();
		assertThat(postgres.jdbc()
			.queryForObject("SELECT to_regclass('together.zdm_migration') IS NOT NULL", Boolean.class)).isTrue();
	}

	@Test
	void aRoleThatCannotCreateTheSchemaIsRefusedWithTheAdviceAndWorksOnceTheSchemaIsMadeForIt() {
		postgres.jdbc().execute("CREATE ROLE zdm_limited LOGIN PASSWORD 'limited'");
		// the URL names the superuser as a parameter, which would win over the role given
		String url = postgres.database().url().replaceFirst("\\?.*", "");
		SimpleDriverDataSource limited = new SimpleDriverDataSource(new Driver(), url, "zdm_limited", "limited");
		ZdmSchema schema = new ZdmSchema(limited, ZdmTables.inSchema("limited_ops"));
		assertThatExceptionOfType(ZdmConfigurationException.class).isThrownBy(schema::migrate)
			.withMessageContaining("zdm could not create the schema 'limited_ops' (zdm.schema) for its tables")
			.satisfies((ex) -> assertThat(ex.getAction()).contains("CREATE SCHEMA limited_ops AUTHORIZATION"));
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM pg_namespace WHERE nspname = 'limited_ops'", Integer.class)).isZero();
		postgres.jdbc().execute("CREATE SCHEMA limited_ops AUTHORIZATION zdm_limited");
		schema.migrate();
		assertThat(new MigrationStateRepository(limited, ZdmTables.inSchema("limited_ops")).find("m").isContracted())
			.isFalse();
		assertThat(postgres.jdbc()
			.queryForObject("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'limited_ops' "
					+ "AND table_name = 'zdm_migration'", Integer.class))
			.isOne();
	}

	@Test
	void aPoolOfTwoConnectionsIsEnoughToCreateTheTables() {
		HikariConfig config = postgres.database().newPoolConfig("two", 2);
		config.setConnectionTimeout(5_000);
		try (HikariDataSource dataSource = new HikariDataSource(config)) {
			new ZdmSchema(dataSource, ZdmTables.inSchema("two")).migrate();
		}
		assertThat(postgres.jdbc().queryForObject("SELECT to_regclass('two.zdm_migration') IS NOT NULL", Boolean.class))
			.isTrue();
	}

	@Test
	void aPoolOfOneConnectionIsRefusedWithWhatToDoAndTwoCreateTheTablesAfter() {
		HikariConfig config = postgres.database().newPoolConfig("one", 1);
		config.setConnectionTimeout(1_000);
		try (HikariDataSource dataSource = new HikariDataSource(config)) {
			assertThatExceptionOfType(ZdmConfigurationException.class)
				.isThrownBy(() -> new ZdmSchema(dataSource, ZdmTables.inSchema("one")).migrate())
				.withMessageContaining("zdm could not get a second connection from the application's pool")
				.satisfies(
						(ex) -> assertThat(ex.getAction()).contains("at least 3 connections more than the application")
							.contains("spring.datasource.hikari.maximum-pool-size"));
		}
		assertThat(postgres.jdbc().queryForObject("SELECT to_regclass('one.zdm_migration') IS NULL", Boolean.class))
			.isTrue();
		config = postgres.database().newPoolConfig("one-more", 2);
		try (HikariDataSource dataSource = new HikariDataSource(config)) {
			new ZdmSchema(dataSource, ZdmTables.inSchema("one")).migrate();
		}
		assertThat(postgres.jdbc().queryForObject("SELECT to_regclass('one.zdm_migration') IS NOT NULL", Boolean.class))
			.isTrue();
	}

}
