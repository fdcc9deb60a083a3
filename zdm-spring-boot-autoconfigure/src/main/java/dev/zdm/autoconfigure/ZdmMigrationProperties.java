package dev.zdm.autoconfigure;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Configuration properties of one migration, the value type of
 * {@code zdm.migrations.<id>}.
 *
 * @see ZdmProperties#getMigrations()
 */
public class ZdmMigrationProperties {

	/**
	 * Phase this instance requests: expand, dual-write, backfill, read-new or contract;
	 * or abandon, to take a migration that has not contracted back to where it started.
	 */
	private String phase = "expand";

	/**
	 * Table the migration changes, optionally qualified by its schema. For a migration
	 * into another table, the source table.
	 */
	private @Nullable String table;

	/**
	 * Table the data moves into, optionally qualified by its schema. Its presence makes
	 * the migration a cross-table one: up expressions then derive the target table's
	 * columns from the source row.
	 */
	private @Nullable String targetTable;

	/**
	 * Name of the DataSource bean of the database the migration's tables are in.
	 * Migrations of another database than zdm's own (zdm.data-source) run on an engine of
	 * their own there, with its own fleet and zdm tables.
	 */
	private @Nullable String dataSource;

	/**
	 * Columns of the target table holding the source row's key, in the order of the key's
	 * columns; unique together in the target table. Defaults to the names of the source
	 * table's key columns.
	 */
	private List<String> targetKey = new ArrayList<>();

	/**
	 * Key columns used to walk the table. Defaults to the primary key.
	 */
	private List<String> key = new ArrayList<>();

	/**
	 * New columns, each with the SQL expression over the old columns that derives it.
	 */
	private Map<String, String> up = new LinkedHashMap<>();

	/**
	 * Old columns, each with the SQL expression over the new columns that derives it.
	 */
	private Map<String, String> down = new LinkedHashMap<>();

	/**
	 * Locations of the expand scripts, run once for the fleet in the background while the
	 * instance serves through the old schema (at start-up with
	 * zdm.ddl.expand-at-startup).
	 */
	private List<String> expand = new ArrayList<>();

	/**
	 * Locations of the contract scripts, run once when every live instance is at
	 * contract.
	 */
	private List<String> contract = new ArrayList<>();

	/**
	 * Locations of the abandon scripts, which undo what the expand scripts did when the
	 * migration is abandoned; only needed when zdm cannot reverse an expand script by
	 * itself.
	 */
	private List<String> abandon = new ArrayList<>();

	/**
	 * Why the migration is abandoned; required with phase abandon, and recorded with it.
	 */
	private @Nullable String abandonReason;

	/**
	 * Codes of unsafe DDL operations to allow in all of this migration's scripts, for
	 * example create-index.
	 */
	private List<String> allowUnsafe = new ArrayList<>();

	/**
	 * How the side that is not the source of truth is kept in sync: trigger (same-table
	 * migrations), application (same-table, the application writing both sides in one
	 * statement, no trigger) or repositories (data moving into another table). Defaults
	 * to trigger when up expressions are declared for a migration inside one table, and
	 * to repositories for a migration into another table.
	 */
	private @Nullable String sync;

	/**
	 * Whether this instance leaves the migration's expand DDL alone: it does not start or
	 * take it over, and the migration stays at expand on this instance until another
	 * instance has run it.
	 */
	private boolean expandPaused;

	/**
	 * Columns to add with the expand step, each with its SQL type and an optional default
	 * that is not volatile.
	 */
	private Map<String, Column> columns = new LinkedHashMap<>();

	/**
	 * Indexes to build concurrently with the expand step, each with its columns.
	 */
	private Map<String, List<String>> indexes = new LinkedHashMap<>();

	private final Constraints constraints = new Constraints();

	private final ZdmBackfillProperties backfill = new ZdmBackfillProperties();

	public Map<String, Column> getColumns() {
		return this.columns;
	}

	public void setColumns(Map<String, Column> columns) {
		this.columns = columns;
	}

	public Map<String, List<String>> getIndexes() {
		return this.indexes;
	}

	public void setIndexes(Map<String, List<String>> indexes) {
		this.indexes = indexes;
	}

	public Constraints getConstraints() {
		return this.constraints;
	}

	public boolean isExpandPaused() {
		return this.expandPaused;
	}

	public void setExpandPaused(boolean expandPaused) {
		this.expandPaused = expandPaused;
	}

	public String getPhase() {
		return this.phase;
	}

	public void setPhase(String phase) {
		this.phase = phase;
	}

	public @Nullable String getTable() {
		return this.table;
	}

	public void setTable(@Nullable String table) {
		this.table = table;
	}

	public @Nullable String getDataSource() {
		return this.dataSource;
	}

	public void setDataSource(@Nullable String dataSource) {
		this.dataSource = dataSource;
	}

	public @Nullable String getTargetTable() {
		return this.targetTable;
	}

	public void setTargetTable(@Nullable String targetTable) {
		this.targetTable = targetTable;
	}

	public List<String> getTargetKey() {
		return this.targetKey;
	}

	public void setTargetKey(List<String> targetKey) {
		this.targetKey = targetKey;
	}

	public List<String> getKey() {
		return this.key;
	}

	public void setKey(List<String> key) {
		this.key = key;
	}

	public Map<String, String> getUp() {
		return this.up;
	}

	public void setUp(Map<String, String> up) {
		this.up = up;
	}

	public Map<String, String> getDown() {
		return this.down;
	}

	public void setDown(Map<String, String> down) {
		this.down = down;
	}

	public List<String> getExpand() {
		return this.expand;
	}

	public void setExpand(List<String> expand) {
		this.expand = expand;
	}

	public List<String> getContract() {
		return this.contract;
	}

	public void setContract(List<String> contract) {
		this.contract = contract;
	}

	public List<String> getAbandon() {
		return this.abandon;
	}

	public void setAbandon(List<String> abandon) {
		this.abandon = abandon;
	}

	public @Nullable String getAbandonReason() {
		return this.abandonReason;
	}

	public void setAbandonReason(@Nullable String abandonReason) {
		this.abandonReason = abandonReason;
	}

	public List<String> getAllowUnsafe() {
		return this.allowUnsafe;
	}

	public void setAllowUnsafe(List<String> allowUnsafe) {
		this.allowUnsafe = allowUnsafe;
	}

	public @Nullable String getSync() {
		return this.sync;
	}

	public void setSync(@Nullable String sync) {
		this.sync = sync;
	}

	public ZdmBackfillProperties getBackfill() {
		return this.backfill;
	}

	/**
	 * A column a migration declares, added with the expand step.
	 */
	public static class Column {

		/**
		 * SQL type of the column, for example text or numeric(10,2).
		 */
		private @Nullable String type;

		/**
		 * Default of the column, an SQL expression that is not volatile so that the table
		 * is not rewritten, for example 'new' (quoted) or 0.
		 */
		private @Nullable String defaultValue;

		public @Nullable String getType() {
			return this.type;
		}

		public void setType(@Nullable String type) {
			this.type = type;
		}

		public @Nullable String getDefault() {
			return this.defaultValue;
		}

		public void setDefault(@Nullable String defaultValue) {
			this.defaultValue = defaultValue;
		}

	}

	/**
	 * Constraints a migration declares, added with the contract step in the lock-safe
	 * way.
	 */
	public static class Constraints {

		/**
		 * Columns to make NOT NULL: a NOT VALID check, validated, then SET NOT NULL.
		 */
		private List<String> notNull = new ArrayList<>();

		/**
		 * Check constraints, each name with its boolean SQL expression: added NOT VALID,
		 * then validated.
		 */
		private Map<String, String> checks = new LinkedHashMap<>();

		/**
		 * Foreign keys by name: added NOT VALID, then validated.
		 */
		private Map<String, ForeignKey> foreignKeys = new LinkedHashMap<>();

		/**
		 * Unique constraints, each name with its columns: the index is built
		 * concurrently, then the constraint added over it.
		 */
		private Map<String, List<String>> unique = new LinkedHashMap<>();

		public List<String> getNotNull() {
			return this.notNull;
		}

		public void setNotNull(List<String> notNull) {
			this.notNull = notNull;
		}

		public Map<String, String> getChecks() {
			return this.checks;
		}

		public void setChecks(Map<String, String> checks) {
			this.checks = checks;
		}

		public Map<String, ForeignKey> getForeignKeys() {
			return this.foreignKeys;
		}

		public void setForeignKeys(Map<String, ForeignKey> foreignKeys) {
			this.foreignKeys = foreignKeys;
		}

		public Map<String, List<String>> getUnique() {
			return this.unique;
		}

		public void setUnique(Map<String, List<String>> unique) {
			this.unique = unique;
		}

	}

	/**
	 * A foreign key a migration declares.
	 */
	public static class ForeignKey {

		/**
		 * Referencing columns of the migration's table.
		 */
		private List<String> columns = new ArrayList<>();

		/**
		 * Referenced table, optionally qualified by its schema.
		 */
		private @Nullable String references;

		/**
		 * Referenced columns. Defaults to the referenced table's primary key.
		 */
		private List<String> referencedColumns = new ArrayList<>();

		public List<String> getColumns() {
			return this.columns;
		}

		public void setColumns(List<String> columns) {
			this.columns = columns;
		}

		public @Nullable String getReferences() {
			return this.references;
		}

		public void setReferences(@Nullable String references) {
			this.references = references;
		}

		public List<String> getReferencedColumns() {
			return this.referencedColumns;
		}

		public void setReferencedColumns(List<String> referencedColumns) {
			this.referencedColumns = referencedColumns;
		}

	}

}
