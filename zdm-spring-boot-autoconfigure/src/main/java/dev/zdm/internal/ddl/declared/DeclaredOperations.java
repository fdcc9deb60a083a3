package dev.zdm.internal.ddl.declared;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.springframework.core.io.ResourceLoader;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.GeneratedNames;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.migration.DeclaredChanges;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * Turns a migration's {@link DeclaredChanges declared changes} into lock-safe statements,
 * run by the expand and contract steps like the scripts' (same executor, lock timeout,
 * retries and history, recorded as {@code contributor:DeclaredOperations}), and checks
 * the declarations against the catalog before anything runs.
 * <p>
 * What goes where follows the phases. A declared column and index add to the schema
 * without restricting what any instance writes, so they run with the expand, before the
 * new version uses them: {@code ADD COLUMN IF NOT EXISTS ... DEFAULT} (a default that is
 * not volatile adds the column without rewriting the table) and
 * {@code CREATE INDEX CONCURRENTLY}. A constraint restricts writes: during the rolling
 * deploy instances of the previous version still write, and rows are not backfilled yet,
 * so every constraint runs with the contract, once every live instance runs the new
 * version and the backfill is verified. There a NOT NULL is
 * {@code ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID}, {@code VALIDATE}, then
 * {@code SET NOT NULL} (which skips its scan thanks to the validated check) and the check
 * dropped; a check or foreign key is added {@code NOT VALID} then validated; a unique
 * constraint's index is built with {@code CREATE UNIQUE INDEX CONCURRENTLY} and the
 * constraint added {@code USING INDEX}. On a partitioned table, where PostgreSQL builds
 * no index concurrently, an index is created {@code ON ONLY} the parent and each
 * partition's built concurrently and attached, and a unique constraint is added to each
 * partition from its own index before the parent's adopts them. Every statement is
 * generated from what the catalog already has, so a step that resumes after a failure
 * runs only what is left, and a step with nothing left returns nothing.
 */
public class DeclaredOperations implements SchemaChangeContributor, MigrationParticipant {

	private final DeclaredCatalog catalog;

	private final DeclaredChecks checks;

	/**
	 * Create the declared operations.
	 * @param dataSource the application's data source
	 * @param resourceLoader where the migrations' scripts are loaded from, to know the
	 * columns they add
	 */
	public DeclaredOperations(DataSource dataSource, ResourceLoader resourceLoader) {
		this.catalog = new DeclaredCatalog(dataSource);
		this.checks = new DeclaredChecks(this.catalog, new DatabaseCatalog(dataSource), resourceLoader);
	}

	/**
	 * Refuse declarations the catalog does not support, and those of a partitioned table
	 * that zdm cannot build on it, unless the migration is contracted (its contract
	 * scripts may have dropped what the declarations named). Only reads.
	 */
	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		if (!state.isContracted()) {
			this.checks.check(migration);
		}
	}

	@Override
	public List<String> expandStatements(MigrationDefinition migration) {
		DeclaredChanges declared = migration.declared();
		if (declared.columns().isEmpty() && declared.indexes().isEmpty()) {
			return List.of();
		}
		TableName table = migration.table();
		Map<String, Boolean> columns = this.catalog.columns(table);
		List<String> statements = new ArrayList<>();
		for (DeclaredChanges.Column column : declared.columns()) {
			if (!columns.containsKey(column.name().name())) {
				statements.add("ALTER TABLE " + table.quoted() + " ADD COLUMN IF NOT EXISTS " + column.name().quoted()
						+ " " + column.type()
						+ ((column.defaultValue() != null) ? " DEFAULT (" + column.defaultValue() + ")" : ""));
			}
		}
		boolean partitioned = !declared.indexes().isEmpty() && this.catalog.isPartitioned(table);
		for (DeclaredChanges.Index index : declared.indexes()) {
			if (this.catalog.isIndexValid(table, index.name())) {
				continue;
			}
			if (partitioned) {
				partitionedIndex(statements, table, index.name(), index.columns());
			}
			else {
				statements.add("CREATE INDEX CONCURRENTLY IF NOT EXISTS " + index.name().quoted() + " ON "
						+ table.quoted() + " (" + quoted(index.columns()) + ")");
			}
		}
		return statements;
	}

	// PostgreSQL builds no index of a partitioned table concurrently: the parent's index
	// is created ON ONLY the parent (a catalog change, invalid until each partition has
	// one attached), each partition's built concurrently and attached. Partitions
	// created or attached later get theirs from PostgreSQL, as for any index of the
	// parent.
	private void partitionedIndex(List<String> statements, TableName table, SqlIdentifier name,
			List<SqlIdentifier> columns) {
		TableName index = new TableName(table.schema(), name);
		statements.add("CREATE INDEX IF NOT EXISTS " + name.quoted() + " ON ONLY " + table.quoted() + " ("
				+ quoted(columns) + ")");
		for (DeclaredCatalog.Partition partition : this.catalog.partitions(table, name)) {
			if (partition.indexAttached()) {
				continue;
			}
			SqlIdentifier own = partitionIndex(name, partition.table());
			if (!this.catalog.isIndexValid(partition.table(), own)) {
				statements.add("CREATE INDEX CONCURRENTLY IF NOT EXISTS " + own.quoted() + " ON "
						+ partition.table().quoted() + " (" + quoted(columns) + ")");
			}
			statements.add("ALTER INDEX " + index.quoted() + " ATTACH PARTITION "
					+ new TableName(partition.table().schema(), own).quoted());
		}
	}

	@Override
	public List<String> contractStatements(MigrationDefinition migration) {
		DeclaredChanges declared = migration.declared();
		if (declared.notNull().isEmpty() && declared.checks().isEmpty() && declared.foreignKeys().isEmpty()
				&& declared.unique().isEmpty()) {
			return List.of();
		}
		TableName table = migration.table();
		String alter = "ALTER TABLE " + table.quoted() + " ";
		List<String> statements = new ArrayList<>();
		Map<String, Boolean> columns = this.catalog.columns(table);
		for (SqlIdentifier column : declared.notNull()) {
			SqlIdentifier check = notNullCheck(column);
			DeclaredCatalog.Constraint present = this.catalog.constraint(table, check);
			if (Boolean.TRUE.equals(columns.get(column.name()))) {
				if (present != null) {
					statements.add(alter + "DROP CONSTRAINT IF EXISTS " + check.quoted());
				}
				continue;
			}
			if (present == null) {
				statements.add(alter + "ADD CONSTRAINT " + check.quoted() + " CHECK (" + column.quoted()
						+ " IS NOT NULL) NOT VALID");
			}
			if (present == null || !present.validated()) {
				statements.add(alter + "VALIDATE CONSTRAINT " + check.quoted());
			}
			statements.add(alter + "ALTER COLUMN " + column.quoted() + " SET NOT NULL");
			statements.add(alter + "DROP CONSTRAINT IF EXISTS " + check.quoted());
		}
		for (DeclaredChanges.Check check : declared.checks()) {
			addThenValidate(statements, alter, table, check.name(), "CHECK (" + check.expression() + ")");
		}
		for (DeclaredChanges.ForeignKey foreignKey : declared.foreignKeys()) {
			TableName references = this.checks.resolve(foreignKey.references());
			List<SqlIdentifier> referenced = this.checks.referencedColumns(foreignKey, references);
			addThenValidate(statements, alter, table, foreignKey.name(), "FOREIGN KEY (" + quoted(foreignKey.columns())
					+ ") REFERENCES " + references.quoted() + " (" + quoted(referenced) + ")");
		}
		boolean partitioned = !declared.unique().isEmpty() && this.catalog.isPartitioned(table);
		for (DeclaredChanges.Unique unique : declared.unique()) {
			if (this.catalog.constraint(table, unique.name()) != null) {
				continue;
			}
			if (partitioned) {
				partitionedUnique(statements, table, unique.name(), unique.columns());
				continue;
			}
			if (!this.catalog.isIndexValid(table, unique.name())) {
				statements.add("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS " + unique.name().quoted() + " ON "
						+ table.quoted() + " (" + quoted(unique.columns()) + ")");
			}
			statements.add(alter + "ADD CONSTRAINT " + unique.name().quoted() + " UNIQUE USING INDEX "
					+ unique.name().quoted());
		}
		return statements;
	}

	// A partitioned table takes no constraint USING INDEX, but a unique constraint added
	// to it adopts, without building anything, each partition's unique index that backs a
	// constraint of the same columns: each partition gets its index built concurrently
	// and its constraint from it, then the parent's constraint is a catalog change.
	private void partitionedUnique(List<String> statements, TableName table, SqlIdentifier name,
			List<SqlIdentifier> columns) {
		for (DeclaredCatalog.Partition partition : this.catalog.partitions(table, null)) {
			SqlIdentifier own = partitionIndex(name, partition.table());
			if (this.catalog.constraint(partition.table(), own) != null) {
				continue;
			}
			if (!this.catalog.isIndexValid(partition.table(), own)) {
				statements.add("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS " + own.quoted() + " ON "
						+ partition.table().quoted() + " (" + quoted(columns) + ")");
			}
			statements.add("ALTER TABLE " + partition.table().quoted() + " ADD CONSTRAINT " + own.quoted()
					+ " UNIQUE USING INDEX " + own.quoted());
		}
		statements.add("ALTER TABLE " + table.quoted() + " ADD CONSTRAINT " + name.quoted() + " UNIQUE ("
				+ quoted(columns) + ")");
	}

	/**
	 * Return the name of a partition's index (or unique constraint) for one declared on
	 * its partitioned table, at most 63 characters.
	 * @param name the declared index or constraint
	 * @param partition the partition
	 * @return the partition's index name
	 */
	static SqlIdentifier partitionIndex(SqlIdentifier name, TableName partition) {
		String own = name.name() + "_" + partition.table().name();
		return limited(own);
	}

	private void addThenValidate(List<String> statements, String alter, TableName table, SqlIdentifier name,
			String definition) {
		DeclaredCatalog.Constraint present = this.catalog.constraint(table, name);
		if (present == null) {
			statements.add(alter + "ADD CONSTRAINT " + name.quoted() + " " + definition + " NOT VALID");
		}
		if (present == null || !present.validated()) {
			statements.add(alter + "VALIDATE CONSTRAINT " + name.quoted());
		}
	}

	/**
	 * Return the name of the check that proves a column not null before
	 * {@code SET NOT NULL}, at most 63 characters.
	 * @param column the column
	 * @return the check's name
	 */
	static SqlIdentifier notNullCheck(SqlIdentifier column) {
		return limited("zdm_not_null_" + column.name());
	}

	private static SqlIdentifier limited(String name) {
		return new SqlIdentifier(GeneratedNames.fit(name, 63));
	}

	private static String quoted(List<SqlIdentifier> columns) {
		return columns.stream().map(SqlIdentifier::quoted).collect(Collectors.joining(", "));
	}

}
