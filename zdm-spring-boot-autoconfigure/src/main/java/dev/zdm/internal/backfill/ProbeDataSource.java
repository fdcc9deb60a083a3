package dev.zdm.internal.backfill;

import java.sql.SQLException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.util.ClassUtils;

/**
 * Where the tail sampler's reads get their connection: a pool of one connection of its
 * own, set up as the application's HikariCP pool is (its URL, credentials, driver and SSL
 * properties, initial SQL and schema) but without its meters, so that the sampler's
 * hundred reads a second are not counted among the application's own calls, which the
 * pacing reads as what the workload feels (with an idle application they were all there
 * was to read, and the copy backed off for its own probes). When the application's pool
 * is not HikariCP, or the copy cannot be made, the sampler borrows the application's
 * pool's connections, as the application's calls do.
 */
final class ProbeDataSource implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(ProbeDataSource.class);

	private static final boolean HIKARI_PRESENT = ClassUtils.isPresent("com.zaxxer.hikari.HikariDataSource",
			ProbeDataSource.class.getClassLoader());

	private final DataSource dataSource;

	private final @Nullable AutoCloseable own;

	private ProbeDataSource(DataSource dataSource, @Nullable AutoCloseable own) {
		this.dataSource = dataSource;
		this.own = own;
	}

	/**
	 * Return the probes' data source for a migration's sampler.
	 * @param application the application's data source
	 * @param migrationId the migration
	 * @return a pool of the sampler's own, or the application's pool
	 */
	static ProbeDataSource of(DataSource application, String migrationId) {
		if (HIKARI_PRESENT) {
			try {
				ProbeDataSource own = Hikari.copy(application, migrationId);
				if (own != null) {
					return own;
				}
			}
			catch (SQLException | RuntimeException ex) {
				logger.debug("zdm: migration '" + migrationId + "': the tail sampler borrows the application's "
						+ "pool, whose settings could not be copied for a connection of its own", ex);
			}
		}
		return new ProbeDataSource(application, null);
	}

	/**
	 * Return the data source the probes use.
	 * @return the data source
	 */
	DataSource dataSource() {
		return this.dataSource;
	}

	/**
	 * Whether the probes have a pool of their own.
	 * @return {@code true} if they do
	 */
	boolean isOwn() {
		return this.own != null;
	}

	@Override
	public void close() {
		if (this.own != null) {
			// the sampler is stopped by an interrupt: a pool closed with the flag set
			// would cut its shutdown short and log a warning for it
			boolean interrupted = Thread.interrupted();
			try {
				this.own.close();
			}
			catch (Exception ex) {
				logger.debug("zdm: could not close the tail sampler's pool", ex);
			}
			finally {
				if (interrupted) {
					Thread.currentThread().interrupt();
				}
			}
		}
	}

	/**
	 * HikariCP's part, loaded only when it is on the class path.
	 */
	private static final class Hikari {

		static @Nullable ProbeDataSource copy(DataSource application, String migrationId) throws SQLException {
			if (!application.isWrapperFor(HikariDataSource.class)) {
				return null;
			}
			HikariConfig config = HikariCopy.of(application.unwrap(HikariDataSource.class), "zdm-probe-" + migrationId);
			config.setMaximumPoolSize(1);
			config.setMinimumIdle(1);
			HikariDataSource own = new HikariDataSource(config);
			return new ProbeDataSource(own, own);
		}

	}

}
