package dev.zdm.internal.backfill;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * A pool of zdm's own set up as the application's HikariCP pool is (its URL, credentials,
 * driver and SSL properties, initial SQL and schema), without its meters, health checks
 * and MBeans, so that zdm's connections there are not counted among the application's
 * calls: the tail sampler's probes, and the DDL role's connections. Load it only when
 * HikariCP is on the class path.
 */
public final class HikariCopy {

	private HikariCopy() {
	}

	/**
	 * Return a configuration copied from the application's pool, without its meters.
	 * @param application the application's pool
	 * @param poolName the copy's pool name
	 * @return the configuration, to adjust and start a pool with
	 */
	public static HikariConfig of(HikariDataSource application, String poolName) {
		HikariConfig config = new HikariConfig();
		application.copyStateTo(config);
		config.setPoolName(poolName);
		// Hikari refuses to set either while the other is set, even to null: with Spring
		// Boot's Micrometer tracker the copy failed, and the probes borrowed the
		// application's pool
		if (config.getMetricsTrackerFactory() != null) {
			config.setMetricsTrackerFactory(null);
		}
		if (config.getMetricRegistry() != null) {
			config.setMetricRegistry(null);
		}
		config.setHealthCheckRegistry(null);
		config.setRegisterMbeans(false);
		// a database away at the start fails the first use, which its user tries again or
		// reports, not the copy
		config.setInitializationFailTimeout(-1);
		return config;
	}

}
