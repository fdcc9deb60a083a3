package dev.zdm.migration;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * The common safe schema changes a migration declares instead of writing them in its
 * scripts: columns with a default and indexes, added with the expand step, and NOT NULL,
 * check, foreign key and unique constraints, added with the contract step. zdm generates
 * the lock-safe statements for each. All of them apply to the migration's
 * {@link MigrationDefinition#table() table}.
 *
 * @param columns columns to add, with their type and default
 * @param indexes indexes to build
 * @param notNull columns to make {@code NOT NULL}
 * @param checks check constraints to add
 * @param foreignKeys foreign keys to add
 * @param unique unique constraints to add
 */
public record DeclaredChanges(List<Column> columns, List<Index> indexes, List<SqlIdentifier> notNull,
		List<Check> checks, List<ForeignKey> foreignKeys, List<Unique> unique) {

	private static final DeclaredChanges NONE = new DeclaredChanges(List.of(), List.of(), List.of(), List.of(),
			List.of(), List.of());

	/**
	 * Create declared changes.
	 * @param columns columns to add
	 * @param indexes indexes to build
	 * @param notNull columns to make {@code NOT NULL}
	 * @param checks check constraints to add
	 * @param foreignKeys foreign keys to add
	 * @param unique unique constraints to add
	 */
	public DeclaredChanges {
		columns = List.copyOf(columns);
		indexes = List.copyOf(indexes);
		notNull = List.copyOf(notNull);
		checks = List.copyOf(checks);
		foreignKeys = List.copyOf(foreignKeys);
		unique = List.copyOf(unique);
	}

	/**
	 * Return no declared changes.
	 * @return an empty declaration
	 */
	public static DeclaredChanges none() {
		return NONE;
	}

	/**
	 * Whether nothing is declared.
	 * @return {@code true} if there is no declared change
	 */
	public boolean isEmpty() {
		return this.columns.isEmpty() && this.indexes.isEmpty() && this.notNull.isEmpty() && this.checks.isEmpty()
				&& this.foreignKeys.isEmpty() && this.unique.isEmpty();
	}

	/**
	 * A column to add with the expand step, as {@code ADD COLUMN IF NOT EXISTS}.
	 *
	 * @param name the column
	 * @param type its SQL type, for example {@code text} or {@code numeric(10,2)}
	 * @param defaultValue its default, an SQL expression that is not volatile (so that
	 * PostgreSQL does not rewrite the table), or {@code null} for none
	 */
	public record Column(SqlIdentifier name, String type, @Nullable String defaultValue) {

	}

	/**
	 * An index to build with the expand step, as {@code CREATE INDEX CONCURRENTLY}.
	 *
	 * @param name the index
	 * @param columns its columns, in order
	 */
	public record Index(SqlIdentifier name, List<SqlIdentifier> columns) {

		public Index {
			columns = List.copyOf(columns);
		}

	}

	/**
	 * A check constraint to add with the contract step, {@code NOT VALID} first, then
	 * validated.
	 *
	 * @param name the constraint
	 * @param expression the boolean SQL expression over the row's columns
	 */
	public record Check(SqlIdentifier name, String expression) {

	}

	/**
	 * A foreign key to add with the contract step, {@code NOT VALID} first, then
	 * validated.
	 *
	 * @param name the constraint
	 * @param columns the referencing columns of the migration's table
	 * @param references the referenced table
	 * @param referencedColumns the referenced columns, or empty for the referenced
	 * table's primary key
	 */
	public record ForeignKey(SqlIdentifier name, List<SqlIdentifier> columns, TableName references,
			List<SqlIdentifier> referencedColumns) {

		public ForeignKey {
			columns = List.copyOf(columns);
			referencedColumns = List.copyOf(referencedColumns);
		}

	}

	/**
	 * A unique constraint to add with the contract step: its index built concurrently,
	 * then the constraint added over that index.
	 *
	 * @param name the constraint and its index
	 * @param columns its columns, in order
	 */
	public record Unique(SqlIdentifier name, List<SqlIdentifier> columns) {

		public Unique {
			columns = List.copyOf(columns);
		}

	}

	/**
	 * Collects the changes a {@link MigrationDefinition.Builder} is told of, in the order
	 * they are declared.
	 */
	static final class Builder {

		private final List<Column> columns = new ArrayList<>();

		private final List<Index> indexes = new ArrayList<>();

		private final List<SqlIdentifier> notNull = new ArrayList<>();

		private final List<Check> checks = new ArrayList<>();

		private final List<ForeignKey> foreignKeys = new ArrayList<>();

		private final List<Unique> unique = new ArrayList<>();

		void column(String name, String type, @Nullable String defaultValue) {
			this.columns.add(new Column(new SqlIdentifier(name), type, defaultValue));
		}

		void index(String name, String... columns) {
			this.indexes.add(new Index(new SqlIdentifier(name), identifiers(List.of(columns))));
		}

		void notNull(String... columns) {
			this.notNull.addAll(identifiers(List.of(columns)));
		}

		void check(String name, String expression) {
			this.checks.add(new Check(new SqlIdentifier(name), expression));
		}

		void foreignKey(String name, List<String> columns, String references, List<String> referencedColumns) {
			this.foreignKeys.add(new ForeignKey(new SqlIdentifier(name), identifiers(columns),
					TableName.parse(references), identifiers(referencedColumns)));
		}

		void unique(String name, String... columns) {
			this.unique.add(new Unique(new SqlIdentifier(name), identifiers(List.of(columns))));
		}

		void addAll(DeclaredChanges declared) {
			this.columns.addAll(declared.columns());
			this.indexes.addAll(declared.indexes());
			this.notNull.addAll(declared.notNull());
			this.checks.addAll(declared.checks());
			this.foreignKeys.addAll(declared.foreignKeys());
			this.unique.addAll(declared.unique());
		}

		DeclaredChanges build() {
			return new DeclaredChanges(this.columns, this.indexes, this.notNull, this.checks, this.foreignKeys,
					this.unique);
		}

		private static List<SqlIdentifier> identifiers(List<String> names) {
			return names.stream().map(SqlIdentifier::new).toList();
		}

	}

}
