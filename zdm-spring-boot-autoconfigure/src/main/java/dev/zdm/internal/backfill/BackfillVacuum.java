package dev.zdm.internal.backfill;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

import dev.zdm.migration.MigrationDefinition;

/**
 * Vacuums the table a same-table copy rewrites, on a connection and a thread of its own
 * so that batches go on meanwhile.
 */
public final class BackfillVacuum {

	private static final Log logger = LogFactory.getLog(BackfillVacuum.class);

	private final DataSource dataSource;

	private final MigrationDefinition migration;

	private final BackfillBatches batches;

	private volatile @Nullable Thread thread;

	BackfillVacuum(DataSource dataSource, MigrationDefinition migration, BackfillBatches batches) {
		this.dataSource = dataSource;
		this.migration = migration;
		this.batches = batches;
	}

	/**
	 * Start a {@code VACUUM} unless one still runs or the copy leaves no dead rows.
	 * @return {@code true} if started
	 */
	boolean start() {
		Thread running = this.thread;
		if (!this.batches.vacuums() || (running != null && running.isAlive())) {
			return false;
		}
		Thread started = new Thread(this::vacuum, "zdm-vacuum-" + this.migration.id());
		started.setDaemon(true);
		started.start();
		this.thread = started;
		return true;
	}

	private void vacuum() {
		try (Connection connection = this.dataSource.getConnection()) {
			connection.setAutoCommit(true);
			BackfillRepository repository = new BackfillRepository(new SingleConnectionDataSource(connection, true));
			repository.setSessionLockTimeout(this.migration.backfill().lockTimeout());
			try {
				this.batches.vacuum(repository);
			}
			finally {
				repository.resetLockTimeout();
			}
		}
		catch (SQLException | DataAccessException ex) {
			logger.info("zdm: migration '" + this.migration.id() + "': skipped a VACUUM of " + this.migration.table()
					+ ": " + BackfillErrors.describe(ex));
		}
	}

}
