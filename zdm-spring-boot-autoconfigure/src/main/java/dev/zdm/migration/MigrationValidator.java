package dev.zdm.migration;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Checks a migration's declaration against the database catalog. It only reads: a declaration it refuses has
 * changed nothing in the database.
 */
public class MigrationValidator {

	private final DatabaseCatalog catalog;

	/**
	 * Create a validator.
	 * @param catalog the catalog to check against
	 */
	public MigrationValidator(DatabaseCatalog catalog) {
		this.catalog = catalog;
	}

	/**
	 * Check what can be checked before the expand DDL has run: the table, the key, the old columns and the
	 * {@code up} expressions over them.
	 * @param migration the declared migration
	 * @param contracted whether the migration's contract DDL has already run, so the old columns are gone
	 * @return the migration with its table qualified by schema and its key resolved
	 * @throws ZdmConfigurationException if the declaration does not fit the database
	 */
	public MigrationDefinition validateBeforeExpand(MigrationDefinition migration, boolean contracted) {
		String id = migration.id();
		String schema = this.catalog.findSchema(migration.table())
			.orElseThrow(() -> new ZdmConfigurationException(id,
					"table '" + migration.table() + "' does not exist (searched schemas: "
							+ this.catalog.searchPath() + ")",
					"Check zdm.migrations." + id + ".table. The table must exist before zdm starts: "
							+ "the application's own migrations run first."));
		TableName table = migration.table().inSchema(schema);
		Map<String, String> columns = this.catalog.columns(table);
		List<SqlIdentifier> key = resolveKey(migration, table, columns);
		if (!contracted) {
			for (SqlIdentifier oldColumn : migration.down().keySet()) {
				requireColumn(id, table, columns, oldColumn, "down", "an old column");
			}
			for (Map.Entry<SqlIdentifier, String> up : migration.up().entrySet()) {
				checkExpression(id, table, "up." + up.getKey(), up.getValue());
			}
		}
		for (Map.Entry<SqlIdentifier, String> down : migration.down().entrySet()) {
			String problem = SqlExpressions.lexicalProblem(down.getValue());
			if (problem != null) {
				throw invalidExpression(id, "down." + down.getKey(), down.getValue(), problem);
			}
		}
		return migration.toBuilder().table(table).key(key).build();
	}

	/**
	 * Check what needs the expand DDL to have run: the new columns exist and the {@code down} expressions over
	 * them are valid; for a cross-table migration, also that the target table exists and that its key column is
	 * unique and of the source key's type.
	 * @param migration a migration returned by {@link #validateBeforeExpand}
	 * @param contracted whether the migration's contract DDL has already run
	 * @return the migration, with its target table qualified by schema
	 * @throws ZdmConfigurationException if the declaration does not fit the database
	 */
	public MigrationDefinition validateAfterExpand(MigrationDefinition migration, boolean contracted) {
		String id = migration.id();
		MigrationDefinition validated = migration;
		TableName newTable = migration.table();
		if (migration.targetTable() != null) {
			newTable = validateTarget(migration);
			validated = migration.toBuilder().targetTable(newTable).build();
		}
		Map<String, String> columns = this.catalog.columns(newTable);
		for (SqlIdentifier newColumn : migration.up().keySet()) {
			if (!columns.containsKey(newColumn.name())) {
				throw new ZdmConfigurationException(id,
						"new column '" + newColumn + "' (zdm.migrations." + id + ".up) does not exist in table '"
								+ newTable + "' after the expand scripts ran",
						"Add the column in an expand script under " + migration.expandLocations()
								+ ", or correct the name in zdm.migrations." + id + ".up.");
			}
		}
		if (!contracted) {
			for (Map.Entry<SqlIdentifier, String> down : migration.down().entrySet()) {
				checkExpression(id, newTable, "down." + down.getKey(), down.getValue());
			}
		}
		return validated;
	}

	private TableName validateTarget(MigrationDefinition migration) {
		String id = migration.id();
		TableName declared = migration.targetTable();
		String schema = this.catalog.findSchema(declared)
			.orElseThrow(() -> new ZdmConfigurationException(id,
					"target table '" + declared + "' does not exist after the expand scripts ran (searched schemas: "
							+ this.catalog.searchPath() + ")",
					"Create the table in an expand script under " + migration.expandLocations()
							+ ", or correct zdm.migrations." + id + ".target-table."));
		TableName target = declared.inSchema(schema);
		if (migration.key().size() != 1) {
			throw new ZdmConfigurationException(id,
					"a migration into another table needs a single-column key, but the key of " + migration.table()
							+ " is " + migration.key(),
					"Set zdm.migrations." + id + ".key to one unique, not null column of " + migration.table() + ".");
		}
		SqlIdentifier targetKey = migration.targetKey();
		Map<String, String> columns = this.catalog.columns(target);
		requireColumn(id, target, columns, targetKey, "target-key", "the target key column");
		String keyType = this.catalog.columns(migration.table()).get(migration.key().get(0).name());
		if (!columns.get(targetKey.name()).equals(keyType)) {
			throw new ZdmConfigurationException(id,
					"target key column '" + targetKey + "' of '" + target + "' is " + columns.get(targetKey.name())
							+ " but the source key '" + migration.key().get(0) + "' of '" + migration.table() + "' is "
							+ keyType,
					"Give the target key column the source key's type (" + keyType + ") in the expand script.");
		}
		if (!this.catalog.isUniqueColumn(target, targetKey)) {
			throw new ZdmConfigurationException(id,
					"target key column '" + targetKey + "' is not unique in '" + target + "'",
					"Make it the target table's primary key or give it a unique index of its own in the expand "
							+ "script (CREATE UNIQUE INDEX CONCURRENTLY ... ON " + target + " (" + targetKey + ")): "
							+ "each source row has at most one target row.");
		}
		return target;
	}

	private List<SqlIdentifier> resolveKey(MigrationDefinition migration, TableName table,
			Map<String, String> columns) {
		String id = migration.id();
		if (!migration.key().isEmpty()) {
			for (SqlIdentifier column : migration.key()) {
				requireColumn(id, table, columns, column, "key", "a key column");
			}
			return migration.key();
		}
		List<String> primaryKey = this.catalog.primaryKey(table);
		if (primaryKey.isEmpty()) {
			throw new ZdmConfigurationException(id, "table '" + table + "' has no primary key",
					"Set zdm.migrations." + id + ".key to a unique, not null column of the table.");
		}
		List<SqlIdentifier> key = new ArrayList<>();
		primaryKey.forEach((column) -> key.add(new SqlIdentifier(column)));
		return key;
	}

	private void requireColumn(String id, TableName table, Map<String, String> columns, SqlIdentifier column,
			String property, String role) {
		if (columns.containsKey(column.name())) {
			return;
		}
		String hint = caseInsensitiveMatch(columns, column.name());
		throw new ZdmConfigurationException(id,
				"column '" + column + "' (" + role + ", zdm.migrations." + id + "." + property
						+ ") does not exist in table '" + table + "'",
				"Use one of the table's columns: " + String.join(", ", columns.keySet()) + "."
						+ ((hint != null) ? " Did you mean '" + hint + "'?" : ""));
	}

	private void checkExpression(String id, TableName table, String property, String expression) {
		String problem = this.catalog.checkExpression(table, expression);
		if (problem != null) {
			throw invalidExpression(id, property, expression, problem);
		}
	}

	private static ZdmConfigurationException invalidExpression(String id, String property, String expression,
			String problem) {
		return new ZdmConfigurationException(id,
				"expression zdm.migrations." + id + "." + property + " = \"" + expression + "\" is invalid: " + problem,
				"Write a single SQL expression over the table's columns, for example lower(email). "
						+ "Statements, comments and subqueries that change data are not allowed.");
	}

	private static @Nullable String caseInsensitiveMatch(Map<String, String> columns, String name) {
		return columns.keySet().stream().filter((column) -> column.equalsIgnoreCase(name)).findFirst().orElse(null);
	}

}
