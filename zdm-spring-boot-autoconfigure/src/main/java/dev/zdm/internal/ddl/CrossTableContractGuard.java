package dev.zdm.internal.ddl;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

import dev.zdm.internal.catalog.GeneratedNames;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.TableName;

/**
 * The guard of a cross-table migration's contract: from the claim until its scripts have
 * dropped the source table's old columns, a trigger refuses an update that changes one of
 * them, and an insert that sets one that has no default. From the claim on the fleet
 * writes the new side only, so such a write comes from a writer outside the application,
 * and nothing would copy it to the target table: the final check has passed, and the
 * scripts would drop it with the column, without a word (a fault run lost three such
 * updates during a contract's lock retries). An update that leaves them alone, the
 * application's own among them, an insert that leaves them null, and every delete go
 * through. An insert into a column with a default is let through: the trigger cannot tell
 * the default from a value written. The same-table sync trigger becomes such a guard
 * already.
 */
final class CrossTableContractGuard {

	/**
	 * The source the guard's statements are recorded under in the DDL history.
	 */
	static final String SOURCE = "zdm:cross-table-guard";

	/**
	 * The source the statements that drop it are recorded under.
	 */
	static final String AFTER_SOURCE = "zdm:cross-table-guard-after";

	private CrossTableContractGuard() {
	}

	/**
	 * Return the statements that put the guard on the source table's columns the contract
	 * scripts drop, or none for a migration within one table or scripts that drop none.
	 * @param migration the migration
	 * @param scripts its contract scripts
	 * @return the statements
	 */
	static List<String> install(MigrationDefinition migration, List<DdlScript> scripts) {
		if (!migration.isCrossTable()) {
			return List.of();
		}
		TableName table = migration.table();
		List<String> columns = ScriptObjects.of(scripts).columnsDroppedFrom(table.table().name());
		if (columns.isEmpty()) {
			return List.of();
		}
		// names as declared, unqualified: the plan reads the statement before the target
		// table's schema is resolved, the contract after
		TableName target = Objects.requireNonNull(migration.targetTable());
		String message = "zdm: migration " + migration.id() + " is contracting: column %s of "
				+ table.table().name().replace("%", "%%") + " is being dropped, and nothing copies what is written to "
				+ "it into " + target.table().name().replace("%", "%%") + " any more; write "
				+ target.table().name().replace("%", "%%") + " instead";
		String function = function(migration);
		// an insert into a column with a default is let through: the guard cannot tell
		// the default from a value written
		return List.of(ContractGuardFunction.create(function, migration.id(), columns,
				"NOT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = TG_RELID AND attname = old_column "
						+ "AND atthasdef)",
				message),
				"CREATE OR REPLACE TRIGGER " + trigger(migration) + " BEFORE INSERT OR UPDATE ON " + table.quoted()
						+ " FOR EACH ROW EXECUTE FUNCTION " + function + "()");
	}

	/**
	 * Return the statements that drop the guard once the scripts have run.
	 * @param migration the migration
	 * @param scripts its contract scripts
	 * @return the statements, none if there was no guard
	 */
	static List<String> remove(MigrationDefinition migration, List<DdlScript> scripts) {
		if (install(migration, scripts).isEmpty()) {
			return List.of();
		}
		return List.of("DROP TRIGGER IF EXISTS " + trigger(migration) + " ON " + migration.table().quoted(),
				"DROP FUNCTION IF EXISTS " + function(migration) + "()");
	}

	private static String trigger(MigrationDefinition migration) {
		return "\"" + name(migration) + "\"";
	}

	private static String function(MigrationDefinition migration) {
		TableName table = migration.table();
		return ((table.schema() != null) ? table.schema().quoted() + "." : "") + "\"" + name(migration) + "\"";
	}

	private static String name(MigrationDefinition migration) {
		return GeneratedNames.fit("zdm_guard_" + migration.id().toLowerCase(Locale.ROOT).replace('-', '_'), 63);
	}

}
