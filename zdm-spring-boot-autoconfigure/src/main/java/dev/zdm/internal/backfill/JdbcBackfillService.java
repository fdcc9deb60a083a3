package dev.zdm.internal.backfill;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.backfill.BackfillRepository.StoredProgress;
import dev.zdm.internal.fleet.ZdmTables;

/**
 * The {@link BackfillService}: everything goes through the stored progress
 * ({@link BackfillRepository}).
 */
public final class JdbcBackfillService implements BackfillService {

	private final BackfillRepository repository;

	/**
	 * Create a service on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public JdbcBackfillService(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a service.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public JdbcBackfillService(DataSource dataSource, ZdmTables tables) {
		this.repository = new BackfillRepository(dataSource, tables);
	}

	@Override
	public void pause(String migrationId) {
		this.repository.pause(migrationId);
	}

	@Override
	public boolean resume(String migrationId) {
		return this.repository.resume(migrationId);
	}

	@Override
	public void verify(String migrationId) {
		this.repository.requestVerification(migrationId);
	}

	@Override
	public @Nullable BackfillProgress progress(String migrationId) {
		StoredProgress stored = this.repository.find(migrationId);
		if (stored == null) {
			return null;
		}
		return stored.progress().withVerification(this.repository.latestVerification(migrationId));
	}

}
