package dev.zdm.internal.backfill;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ProbeDataSource}: the tail sampler's probes get a pool of their own,
 * copied from the application's, also from a pool with Micrometer's metrics tracker, as
 * Spring Boot sets it up with Actuator (the copy failed on it, and the probes borrowed
 * the application's pool, counted among its own calls).
 */
class ProbeDataSourceTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void probesGetAPoolOfTheirOwnCopiedFromAnApplicationPoolWithMicrometer() {
		HikariConfig config = postgres.database().newPoolConfig("probed-app", 2);
		config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(new SimpleMeterRegistry()));
		try (HikariDataSource application = new HikariDataSource(config);
				ProbeDataSource probes = ProbeDataSource.of(application, "probed")) {
			assertThat(probes.isOwn()).isTrue();
			assertThat(probes.dataSource()).isNotSameAs(application);
			assertThat(new org.springframework.jdbc.core.JdbcTemplate(probes.dataSource()).queryForObject("SELECT 1",
					Integer.class))
				.isOne();
		}
	}

}
