package dev.zdm.internal.ddl;

import java.util.List;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;

/**
 * The {@code NOT NULL} of the old columns that nothing fills once a migration's contract
 * is claimed, dropped before the claim. From the claim on the application writes the new
 * side alone; a migration kept in sync by the application's statements
 * ({@code sync: application}) or its repositories (a cross-table one) then inserts rows
 * that leave the old columns null, which their {@code NOT NULL} refused until the
 * contract dropped it or them: every insert failed while the contract's first statement
 * waited for its lock (a fault run counted 69 in 29 s behind a reader of the table). So
 * the constraint goes first, while the whole fleet still writes both sides, and the claim
 * waits until it has gone. A sync trigger fills the old columns itself until it turns
 * into the guard, after its own relax. Catalog-only; a walk back from {@code contract}
 * leaves the old columns nullable.
 */
final class ContractRelax {

	/**
	 * The source the statement is recorded under in the DDL history, with the contract's.
	 */
	static final String SOURCE = "zdm:relax-before-claim";

	private final DatabaseCatalog catalog;

	ContractRelax(DataSource dataSource) {
		this.catalog = new DatabaseCatalog(dataSource);
	}

	/**
	 * Return the statement that drops the {@code NOT NULL} of the old columns the
	 * application stops writing at the claim, or none if no such column has one: the
	 * columns of {@code down} for a migration synced by the application, those the
	 * contract scripts drop from the source table for a cross-table one.
	 * @param migration the migration, its table qualified with its schema
	 * @param scripts its contract scripts
	 * @return the statements, at most one
	 */
	List<String> statements(MigrationDefinition migration, List<DdlScript> scripts) {
		List<String> oldColumns;
		if (migration.isCrossTable()) {
			oldColumns = ScriptObjects.of(scripts).columnsDroppedFrom(migration.table().table().name());
		}
		else if (migration.sync() == SyncMode.APPLICATION) {
			oldColumns = migration.down().keySet().stream().map(SqlIdentifier::name).toList();
		}
		else {
			return List.of();
		}
		if (oldColumns.isEmpty()) {
			return List.of();
		}
		TableName table = migration.table();
		List<String> notNull = this.catalog.notNullOutsideKey(table, oldColumns);
		if (notNull.isEmpty()) {
			return List.of();
		}
		return List.of("ALTER TABLE " + table.quoted() + " "
				+ notNull.stream()
					.map((column) -> "ALTER COLUMN " + new SqlIdentifier(column).quoted() + " DROP NOT NULL")
					.collect(Collectors.joining(", ")));
	}

}
