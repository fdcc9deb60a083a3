package dev.zdm.internal.fleet;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;

/**
 * zdm's own tables ({@code zdm_migration}, {@code zdm_instance} and those of the DDL and
 * backfill concerns), created and upgraded through a Flyway of zdm's own whose history
 * table, {@code zdm_schema_history}, is never the application's.
 */
public class ZdmSchema {

	/** The history table of zdm's own schema migrations. */
	public static final String HISTORY_TABLE = "zdm_schema_history";

	/** Where zdm's own schema migrations are. */
	public static final String LOCATION = "classpath:dev/zdm/schema/db";

	private final DataSource dataSource;

	/**
	 * Create a schema manager.
	 * @param dataSource the application's data source
	 */
	public ZdmSchema(DataSource dataSource) {
		this.dataSource = dataSource;
	}

	/**
	 * Create or upgrade zdm's tables. Safe to call from several instances at once: Flyway
	 * serialises them.
	 */
	public void migrate() {
		Flyway.configure(getClass().getClassLoader())
			.dataSource(this.dataSource)
			.table(HISTORY_TABLE)
			.locations(LOCATION)
			.baselineOnMigrate(true)
			.baselineVersion("0")
			.baselineDescription("zdm baseline")
			.validateMigrationNaming(true)
			.cleanDisabled(true)
			.load()
			.migrate();
	}

}
