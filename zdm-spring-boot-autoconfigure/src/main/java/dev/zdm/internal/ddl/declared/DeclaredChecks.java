package dev.zdm.internal.ddl.declared;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.core.io.ResourceLoader;

import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.SqlExpressions;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.migration.DeclaredChanges;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Checks a migration's declared changes against the catalog before anything runs, and
 * refuses those of a partitioned table that zdm cannot build on it: an index or unique
 * constraint when a partition is partitioned in turn or not a table, a unique constraint
 * that misses a column of the partition key, a foreign key before PostgreSQL 18. Each
 * refusal names the property and says what to do. Only reads.
 */
class DeclaredChecks {

	private static final int POSTGRES_13 = 130000;

	private static final int POSTGRES_18 = 180000;

	private final DeclaredCatalog catalog;

	private final DatabaseCatalog databaseCatalog;

	private final DdlScriptLoader loader;

	DeclaredChecks(DeclaredCatalog catalog, DatabaseCatalog databaseCatalog, ResourceLoader resourceLoader) {
		this.catalog = catalog;
		this.databaseCatalog = databaseCatalog;
		this.loader = new DdlScriptLoader(resourceLoader);
	}

	void check(MigrationDefinition migration) {
		DeclaredChanges declared = migration.declared();
		TableName table = migration.table();
		boolean triggerSync = migration.sync() == SyncMode.TRIGGER && !migration.up().isEmpty()
				&& !migration.isCrossTable();
		if (declared.isEmpty() && !triggerSync) {
			return;
		}
		boolean partitioned = this.catalog.isPartitioned(table);
		if (partitioned && triggerSync && this.catalog.serverVersion() < POSTGRES_13) {
			throw new ZdmConfigurationException(migration.id(), "table '" + table + "' is partitioned, and before "
					+ "PostgreSQL 13 a partitioned table cannot have the row trigger that keeps its old and new "
					+ "columns in sync; nothing has run",
					"Upgrade to PostgreSQL 13 or later, or migrate each partition as a migration of its own "
							+ "(zdm.migrations.<id>.table set to the partition).");
		}
		if (declared.isEmpty()) {
			return;
		}
		String prefix = "zdm.migrations." + migration.id() + ".";
		if (partitioned) {
			refusePartitioned(migration, declared);
		}
		refuseDuplicateNames(migration, declared);
		Map<String, Boolean> existing = this.catalog.columns(table);
		Map<String, @Nullable String> added = addedColumns(migration);
		Context context = new Context(migration, table, existing, added);
		for (DeclaredChanges.Column column : declared.columns()) {
			checkColumn(context, prefix + "columns." + column.name(), column);
		}
		for (DeclaredChanges.Index index : declared.indexes()) {
			context.requireColumns(prefix + "indexes." + index.name(), index.columns());
			context.requireFreeIndexName(prefix + "indexes", index.name());
		}
		context.requireColumns(prefix + "constraints.not-null", declared.notNull());
		for (DeclaredChanges.Check check : declared.checks()) {
			checkCheck(context, prefix + "constraints.checks." + check.name(), check);
		}
		for (DeclaredChanges.ForeignKey foreignKey : declared.foreignKeys()) {
			checkForeignKey(context, prefix + "constraints.foreign-keys." + foreignKey.name(), foreignKey);
		}
		for (DeclaredChanges.Unique unique : declared.unique()) {
			context.requireColumns(prefix + "constraints.unique." + unique.name(), unique.columns());
			context.requireConstraintKind(prefix + "constraints.unique", unique.name(), 'u');
			if (this.catalog.constraint(table, unique.name()) == null) {
				context.requireFreeIndexName(prefix + "constraints.unique", unique.name());
			}
		}
	}

	/**
	 * Return a table qualified with its schema.
	 * @param table the table as declared
	 * @return the table, qualified
	 * @throws IllegalStateException if no such table is visible
	 */
	TableName resolve(TableName table) {
		String schema = this.databaseCatalog.findSchema(table)
			.orElseThrow(() -> new IllegalStateException("table '" + table + "' does not exist (searched schemas: "
					+ this.databaseCatalog.searchPath() + ")"));
		return table.inSchema(schema);
	}

	/**
	 * Return the columns a foreign key references: as declared, else the referenced
	 * table's primary key.
	 * @param foreignKey the foreign key
	 * @param references the referenced table, qualified
	 * @return the referenced columns
	 */
	List<SqlIdentifier> referencedColumns(DeclaredChanges.ForeignKey foreignKey, TableName references) {
		if (!foreignKey.referencedColumns().isEmpty()) {
			return foreignKey.referencedColumns();
		}
		return this.databaseCatalog.primaryKey(references).stream().map(SqlIdentifier::new).toList();
	}

	private void refusePartitioned(MigrationDefinition migration, DeclaredChanges declared) {
		String prefix = "zdm.migrations." + migration.id() + ".";
		if (!declared.indexes().isEmpty() || !declared.unique().isEmpty()) {
			String property = declared.indexes().isEmpty() ? prefix + "constraints.unique" : prefix + "indexes";
			for (DeclaredCatalog.Partition partition : this.catalog.partitions(migration.table(), null)) {
				if (partition.kind() != 'r') {
					throw new ZdmConfigurationException(migration.id(),
							"table '" + migration.table() + "' is partitioned, and its partition '" + partition.table()
									+ "' is " + ((partition.kind() == 'p') ? "partitioned in turn" : "not a table")
									+ ": zdm builds a declared index (" + property
									+ ") on each partition of a partitioned "
									+ "table concurrently, one level deep; nothing has run",
							"Remove " + property + " and build the index in the migration's scripts: CREATE INDEX "
									+ "<name> ON ONLY " + migration.table() + " (<columns>); for each partition, at "
									+ "every level, CREATE INDEX CONCURRENTLY (or ON ONLY for a partitioned one) and "
									+ "ALTER INDEX <parent index> ATTACH PARTITION <its index>.");
				}
			}
		}
		if (!declared.unique().isEmpty()) {
			List<@Nullable String> partitionKey = this.catalog.partitionKey(migration.table());
			for (DeclaredChanges.Unique unique : declared.unique()) {
				List<String> columns = unique.columns().stream().map(SqlIdentifier::name).toList();
				if (partitionKey.contains(null) || !columns.containsAll(partitionKey)) {
					String property = prefix + "constraints.unique." + unique.name().name();
					throw new ZdmConfigurationException(migration.id(),
							"table '" + migration.table() + "' is partitioned by "
									+ (partitionKey.contains(null) ? "an expression" : String.join(", ", partitionKey))
									+ ", and PostgreSQL enforces a unique constraint of a partitioned table only "
									+ "over columns that include every column of the partition key (" + property + ": "
									+ String.join(", ", columns) + "); nothing has run",
							partitionKey.contains(null)
									? "Remove " + property + ", or declare it on each partition as a migration "
											+ "of its own (zdm.migrations.<id>.table set to the partition)."
									: "Add the partition key's columns to " + property + ".");
				}
			}
		}
		if (!declared.foreignKeys().isEmpty() && this.catalog.serverVersion() < POSTGRES_18) {
			throw new ZdmConfigurationException(migration.id(),
					"table '" + migration.table() + "' is partitioned, and before PostgreSQL 18 a foreign key of a "
							+ "partitioned table cannot be added NOT VALID (" + prefix + "constraints.foreign-keys), "
							+ "so adding it would check every row while blocking writes; nothing has run",
					"Remove " + prefix + "constraints.foreign-keys and add the foreign key in the contract script, "
							+ "partition by partition: ALTER TABLE <partition> ADD CONSTRAINT <name> FOREIGN KEY "
							+ "(...) REFERENCES ... NOT VALID; ALTER TABLE <partition> VALIDATE CONSTRAINT <name>; "
							+ "(or upgrade to PostgreSQL 18, which supports it on the parent).");
		}
	}

	private void refuseDuplicateNames(MigrationDefinition migration, DeclaredChanges declared) {
		Set<String> names = new HashSet<>();
		List<SqlIdentifier> all = new java.util.ArrayList<>();
		declared.indexes().forEach((index) -> all.add(index.name()));
		declared.checks().forEach((check) -> all.add(check.name()));
		declared.foreignKeys().forEach((foreignKey) -> all.add(foreignKey.name()));
		declared.unique().forEach((unique) -> all.add(unique.name()));
		for (SqlIdentifier name : all) {
			if (!names.add(name.name())) {
				throw new ZdmConfigurationException(migration.id(),
						"the name '" + name + "' is declared twice among its indexes and constraints",
						"Give every declared index and constraint of zdm.migrations." + migration.id()
								+ " a name of its own.");
			}
		}
	}

	private Map<String, @Nullable String> addedColumns(MigrationDefinition migration) {
		Map<String, @Nullable String> added = new LinkedHashMap<>();
		List<DdlScript> scripts = this.loader.load(migration.id(), DdlStep.EXPAND, migration.expandLocations());
		ScriptObjects.of(scripts)
			.addedColumns(migration.table().table().name())
			.forEach((column) -> added.putIfAbsent(column.column(), column.type()));
		migration.declared().columns().forEach((column) -> added.putIfAbsent(column.name().name(), column.type()));
		return added;
	}

	private void checkColumn(Context context, String property, DeclaredChanges.Column column) {
		String lexical = SqlExpressions.lexicalProblem(column.type());
		if (lexical == null && column.defaultValue() != null) {
			lexical = SqlExpressions.lexicalProblem(column.defaultValue());
		}
		if (lexical != null) {
			throw context.refused(property + " is invalid: " + lexical, "Set " + property + ".type to an SQL type and "
					+ property + ".default to a single SQL " + "expression, for example 'new' or 0.");
		}
		String problem = this.catalog.checkColumn(column.type(), column.defaultValue());
		if ("volatile".equals(problem)) {
			throw context.refused(
					"the default of " + property + " (" + column.defaultValue() + ") is volatile: adding the column "
							+ "would rewrite the whole table under an ACCESS EXCLUSIVE lock",
					"Declare the column without a default (or with a constant or stable one such as now()), and "
							+ "fill existing rows with an up expression and the backfill.");
		}
		if (problem != null) {
			throw context.refused(
					property + " (type " + column.type()
							+ ((column.defaultValue() != null) ? ", default " + column.defaultValue() : "")
							+ ") is invalid: " + problem,
					"Correct " + property + ".type and " + property + ".default so that PostgreSQL accepts ALTER "
							+ "TABLE ... ADD COLUMN " + column.name() + " <type> DEFAULT (<default>).");
		}
	}

	private void checkCheck(Context context, String property, DeclaredChanges.Check check) {
		context.requireConstraintKind(property.substring(0, property.lastIndexOf('.')), check.name(), 'c');
		Map<String, String> typed = new LinkedHashMap<>();
		context.added.forEach((name, type) -> {
			if (type != null && !context.existing.containsKey(name)) {
				typed.put(name, type);
			}
		});
		DatabaseCatalog.ExpressionCheck result = this.databaseCatalog.checkDeterministic(context.table, typed,
				check.expression());
		if (result.problem() != null) {
			throw context.refused(
					"check constraint " + property + " = \"" + check.expression() + "\" is invalid: "
							+ result.problem(),
					"Write it as one boolean SQL expression over the table's columns ("
							+ String.join(", ", context.known())
							+ ") with immutable functions, for example total >= 0.");
		}
	}

	private void checkForeignKey(Context context, String property, DeclaredChanges.ForeignKey foreignKey) {
		context.requireColumns(property + ".columns", foreignKey.columns());
		context.requireConstraintKind(property.substring(0, property.lastIndexOf('.')), foreignKey.name(), 'f');
		if (this.databaseCatalog.findSchema(foreignKey.references()).isEmpty()) {
			throw context.refused(
					"table '" + foreignKey.references() + "' (" + property + ".references) does not exist (searched "
							+ "schemas: " + this.databaseCatalog.searchPath() + ")",
					"Set " + property + ".references to an existing table, or create it in an earlier migration.");
		}
		TableName references = resolve(foreignKey.references());
		List<SqlIdentifier> referenced = referencedColumns(foreignKey, references);
		if (referenced.isEmpty()) {
			throw context.refused("table '" + references + "' (" + property + ".references) has no primary key",
					"Set " + property + ".referenced-columns to columns of " + references + " with a unique index.");
		}
		Set<String> referencedExisting = this.catalog.columns(references).keySet();
		for (SqlIdentifier column : referenced) {
			if (!referencedExisting.contains(column.name())) {
				throw context.refused(
						"column '" + column + "' (" + property + ".referenced-columns) does not exist in table '"
								+ references + "'",
						"Use one of its columns: " + String.join(", ", referencedExisting) + ".");
			}
		}
		if (referenced.size() != foreignKey.columns().size()) {
			throw context.refused(
					property + " has " + foreignKey.columns().size() + " columns but references " + referenced.size()
							+ " (" + referenced + ")",
					"Give " + property + ".columns and " + property + ".referenced-columns the same number "
							+ "of columns.");
		}
		if (!this.databaseCatalog.isUniqueKey(references, referenced)) {
			throw context.refused(
					"columns " + referenced + " of table '" + references + "' (" + property + ") have no "
							+ "unique index or primary key of their own, which PostgreSQL needs for a foreign key",
					"Reference the primary key or columns with a unique constraint that is not deferrable, or "
							+ "declare that unique constraint first (in another migration).");
		}
	}

	/**
	 * What one migration's checks share.
	 */
	private final class Context {

		private final MigrationDefinition migration;

		private final TableName table;

		private final Map<String, Boolean> existing;

		private final Map<String, @Nullable String> added;

		private Context(MigrationDefinition migration, TableName table, Map<String, Boolean> existing,
				Map<String, @Nullable String> added) {
			this.migration = migration;
			this.table = table;
			this.existing = existing;
			this.added = added;
		}

		private void requireColumns(String property, List<SqlIdentifier> columns) {
			for (SqlIdentifier column : columns) {
				if (!this.existing.containsKey(column.name()) && !this.added.containsKey(column.name())) {
					throw refused(
							"column '" + column + "' (" + property + ") does not exist in table '" + this.table
									+ "' and neither an expand script nor a declared column adds it",
							"Use one of the table's columns: " + String.join(", ", known()) + ".");
				}
			}
		}

		private void requireFreeIndexName(String property, SqlIdentifier name) {
			String relation = DeclaredChecks.this.catalog.relation(this.table, name);
			if (relation != null && !relation.equals("index")) {
				throw refused(
						"'" + name + "' (" + property + ") is already the name of a " + relation + " in schema "
								+ this.table.schema(),
						"Give the index a name that is free in schema " + this.table.schema() + ".");
			}
		}

		private void requireConstraintKind(String property, SqlIdentifier name, char type) {
			DeclaredCatalog.Constraint constraint = DeclaredChecks.this.catalog.constraint(this.table, name);
			if (constraint != null && constraint.type() != type) {
				throw refused(
						"'" + name + "' (" + property + ") is already the name of another kind of constraint "
								+ "of table '" + this.table + "'",
						"Give the constraint a name that is free among the table's constraints.");
			}
		}

		private List<String> known() {
			Set<String> known = new java.util.LinkedHashSet<>(this.existing.keySet());
			known.addAll(this.added.keySet());
			return List.copyOf(known);
		}

		private ZdmConfigurationException refused(String description, String action) {
			return new ZdmConfigurationException(this.migration.id(), description + "; nothing has run", action);
		}

	}

}
