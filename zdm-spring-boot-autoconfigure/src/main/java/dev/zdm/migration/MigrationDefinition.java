package dev.zdm.migration;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * One declared migration: what the deployed instance requests, which table it changes and
 * how the new columns derive from the old ones and back. Created with
 * {@link #builder(String)}.
 */
public final class MigrationDefinition {

	private static final Pattern VALID_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");

	private final String id;

	private final Phase requestedPhase;

	private final TableName table;

	private final List<SqlIdentifier> key;

	private final Map<SqlIdentifier, String> up;

	private final Map<SqlIdentifier, String> down;

	private final List<String> expandLocations;

	private final List<String> contractLocations;

	private final Set<String> allowedUnsafe;

	private final @Nullable SyncMode sync;

	private final BackfillSettings backfill;

	private final @Nullable TableName targetTable;

	private final List<SqlIdentifier> targetKey;

	private final DeclaredChanges declared;

	private MigrationDefinition(Builder builder) {
		this.id = builder.id;
		this.requestedPhase = builder.requestedPhase;
		if (builder.table == null) {
			throw new IllegalStateException("Migration '" + builder.id + "' has no table");
		}
		this.table = builder.table;
		this.key = List.copyOf(builder.key);
		this.up = Collections.unmodifiableMap(new LinkedHashMap<>(builder.up));
		this.down = Collections.unmodifiableMap(new LinkedHashMap<>(builder.down));
		this.expandLocations = List.copyOf(builder.expandLocations);
		this.contractLocations = List.copyOf(builder.contractLocations);
		this.allowedUnsafe = Collections.unmodifiableSet(new LinkedHashSet<>(builder.allowedUnsafe));
		this.sync = builder.sync;
		this.backfill = builder.backfill;
		this.targetTable = builder.targetTable;
		this.targetKey = List.copyOf(builder.targetKey);
		this.declared = builder.declared.build();
	}

	/**
	 * Return the migration's id, the key under {@code zdm.migrations}.
	 * @return the id
	 */
	public String id() {
		return this.id;
	}

	/**
	 * Return the phase this instance requests.
	 * @return the requested phase
	 */
	public Phase requestedPhase() {
		return this.requestedPhase;
	}

	/**
	 * Return the table the migration changes.
	 * @return the table, qualified once validated against the catalog
	 */
	public TableName table() {
		return this.table;
	}

	/**
	 * Return the key columns, the primary key unless configured otherwise.
	 * @return the key columns, empty until resolved if not configured
	 */
	public List<SqlIdentifier> key() {
		return this.key;
	}

	/**
	 * Return the table the data moves into, for a migration that spans two tables.
	 * @return the target table, qualified once validated after the expand DDL, or
	 * {@code null} for a migration inside one table
	 */
	public @Nullable TableName targetTable() {
		return this.targetTable;
	}

	/**
	 * Return the column of the target table that holds the source row's key: as
	 * configured, else the source's (single) key column's name.
	 * @return the target key column, or {@code null} for a migration inside one table,
	 * before the source key is resolved, or for a key of several columns
	 * @see #targetKeys()
	 */
	public @Nullable SqlIdentifier targetKey() {
		List<SqlIdentifier> targetKeys = targetKeys();
		return (targetKeys.size() == 1) ? targetKeys.get(0) : null;
	}

	/**
	 * Return the columns of the target table that hold the source row's key, in the order
	 * of the source key's columns: as configured, else the source key's names.
	 * @return the target key columns, empty for a migration inside one table or before
	 * the source key is resolved
	 */
	public List<SqlIdentifier> targetKeys() {
		if (this.targetTable == null) {
			return List.of();
		}
		return this.targetKey.isEmpty() ? this.key : this.targetKey;
	}

	/**
	 * Whether the migration moves data into another table ({@link #targetTable()} is
	 * declared).
	 * @return {@code true} for a cross-table migration
	 */
	public boolean isCrossTable() {
		return this.targetTable != null;
	}

	/**
	 * Return the new columns, each with the SQL expression over the old columns that
	 * derives it. For a cross-table migration these are columns of the target table,
	 * derived from the source row.
	 * @return new column to expression, in declaration order
	 */
	public Map<SqlIdentifier, String> up() {
		return this.up;
	}

	/**
	 * Return the old columns, each with the SQL expression over the new columns that
	 * derives it.
	 * @return old column to expression, in declaration order
	 */
	public Map<SqlIdentifier, String> down() {
		return this.down;
	}

	/**
	 * Return the locations of the expand scripts.
	 * @return Flyway style locations, for example
	 * {@code classpath:db/zdm/users-email/expand}
	 */
	public List<String> expandLocations() {
		return this.expandLocations;
	}

	/**
	 * Return the locations of the contract scripts.
	 * @return Flyway style locations
	 */
	public List<String> contractLocations() {
		return this.contractLocations;
	}

	/**
	 * Return the codes of the unsafe DDL operations allowed in all of this migration's
	 * scripts.
	 * @return codes such as {@code create-index}, empty unless configured
	 */
	public Set<String> allowedUnsafe() {
		return this.allowedUnsafe;
	}

	/**
	 * Return how the side that is not the source of truth is kept in sync: as configured,
	 * else {@link SyncMode#TRIGGER} when {@code up} expressions are declared for a
	 * migration inside one table and {@link SyncMode#REPOSITORIES} otherwise (always for
	 * a cross-table migration).
	 * @return the sync mode
	 */
	public SyncMode sync() {
		if (this.sync != null) {
			return this.sync;
		}
		return (this.up.isEmpty() || isCrossTable()) ? SyncMode.REPOSITORIES : SyncMode.TRIGGER;
	}

	/**
	 * Return how the backfill runs.
	 * @return the backfill settings
	 */
	public BackfillSettings backfill() {
		return this.backfill;
	}

	/**
	 * Return the schema changes declared instead of written in scripts, which zdm turns
	 * into lock-safe statements.
	 * @return the declared changes, empty unless configured
	 */
	public DeclaredChanges declared() {
		return this.declared;
	}

	/**
	 * Whether existing rows must be copied to the new columns, that is whether any
	 * {@code up} expression is declared. {@link Phase#READ_NEW} needs a verified backfill
	 * only when this is {@code true}.
	 * @return {@code true} if the migration has a backfill
	 */
	public boolean hasBackfill() {
		return !this.up.isEmpty();
	}

	/**
	 * Return a builder initialised with this definition.
	 * @return a builder
	 */
	public Builder toBuilder() {
		Builder builder = new Builder(this.id);
		builder.requestedPhase = this.requestedPhase;
		builder.table = this.table;
		builder.key.addAll(this.key);
		builder.up.putAll(this.up);
		builder.down.putAll(this.down);
		builder.expandLocations.addAll(this.expandLocations);
		builder.contractLocations.addAll(this.contractLocations);
		builder.allowedUnsafe.addAll(this.allowedUnsafe);
		builder.sync = this.sync;
		builder.backfill = this.backfill;
		builder.targetTable = this.targetTable;
		builder.targetKey.addAll(this.targetKey);
		builder.declared.addAll(this.declared);
		return builder;
	}

	/**
	 * Whether an id may name a migration: letters, digits, {@code -} and {@code _}, at
	 * most 63 characters.
	 * @param id the id to check
	 * @return {@code true} if valid
	 */
	public static boolean isValidId(@Nullable String id) {
		return id != null && VALID_ID.matcher(id).matches();
	}

	/**
	 * Start a definition.
	 * @param id the migration's id
	 * @return a builder
	 */
	public static Builder builder(String id) {
		return new Builder(id);
	}

	@Override
	public String toString() {
		return "MigrationDefinition[" + this.id + " on " + this.table
				+ ((this.targetTable != null) ? " into " + this.targetTable : "") + ", requested " + this.requestedPhase
				+ "]";
	}

	/**
	 * Builder for {@link MigrationDefinition}.
	 */
	public static final class Builder {

		private final String id;

		private Phase requestedPhase = Phase.EXPAND;

		private @Nullable TableName table;

		private final List<SqlIdentifier> key = new ArrayList<>();

		private final Map<SqlIdentifier, String> up = new LinkedHashMap<>();

		private final Map<SqlIdentifier, String> down = new LinkedHashMap<>();

		private final List<String> expandLocations = new ArrayList<>();

		private final List<String> contractLocations = new ArrayList<>();

		private final Set<String> allowedUnsafe = new LinkedHashSet<>();

		private @Nullable SyncMode sync;

		private BackfillSettings backfill = BackfillSettings.defaults();

		private @Nullable TableName targetTable;

		private final List<SqlIdentifier> targetKey = new ArrayList<>();

		private final DeclaredChanges.Builder declared = new DeclaredChanges.Builder();

		private Builder(String id) {
			if (!isValidId(id)) {
				throw new IllegalArgumentException("'" + id + "' is not a valid migration id");
			}
			this.id = id;
		}

		public Builder requestedPhase(Phase requestedPhase) {
			this.requestedPhase = requestedPhase;
			return this;
		}

		public Builder table(TableName table) {
			this.table = table;
			return this;
		}

		public Builder table(String table) {
			return table(TableName.parse(table));
		}

		public Builder key(List<SqlIdentifier> key) {
			this.key.clear();
			this.key.addAll(key);
			return this;
		}

		public Builder key(String... columns) {
			return key(java.util.Arrays.stream(columns).map(SqlIdentifier::new).toList());
		}

		public Builder up(String newColumn, String expression) {
			this.up.put(new SqlIdentifier(newColumn), expression);
			return this;
		}

		public Builder down(String oldColumn, String expression) {
			this.down.put(new SqlIdentifier(oldColumn), expression);
			return this;
		}

		public Builder expandLocations(List<String> locations) {
			this.expandLocations.clear();
			this.expandLocations.addAll(locations);
			return this;
		}

		public Builder contractLocations(List<String> locations) {
			this.contractLocations.clear();
			this.contractLocations.addAll(locations);
			return this;
		}

		public Builder allowUnsafe(Collection<String> codes) {
			this.allowedUnsafe.clear();
			this.allowedUnsafe.addAll(codes);
			return this;
		}

		public Builder sync(@Nullable SyncMode sync) {
			this.sync = sync;
			return this;
		}

		public Builder backfill(BackfillSettings backfill) {
			this.backfill = backfill;
			return this;
		}

		public Builder targetTable(@Nullable TableName targetTable) {
			this.targetTable = targetTable;
			return this;
		}

		public Builder targetTable(String targetTable) {
			return targetTable(TableName.parse(targetTable));
		}

		public Builder targetKey(@Nullable SqlIdentifier targetKey) {
			return targetKey((targetKey != null) ? List.of(targetKey) : List.of());
		}

		public Builder targetKey(List<SqlIdentifier> targetKey) {
			this.targetKey.clear();
			this.targetKey.addAll(targetKey);
			return this;
		}

		public Builder targetKey(String... columns) {
			return targetKey(java.util.Arrays.stream(columns).map(SqlIdentifier::new).toList());
		}

		/**
		 * Declare a column to add with the expand step.
		 * @param name the column
		 * @param type its SQL type
		 * @param defaultValue its default (not volatile), or {@code null} for none
		 * @return this builder
		 */
		public Builder column(String name, String type, @Nullable String defaultValue) {
			this.declared.column(name, type, defaultValue);
			return this;
		}

		/**
		 * Declare an index to build concurrently with the expand step.
		 * @param name the index
		 * @param columns its columns
		 * @return this builder
		 */
		public Builder index(String name, String... columns) {
			this.declared.index(name, columns);
			return this;
		}

		/**
		 * Declare columns to make {@code NOT NULL} with the contract step.
		 * @param columns the columns
		 * @return this builder
		 */
		public Builder notNull(String... columns) {
			this.declared.notNull(columns);
			return this;
		}

		/**
		 * Declare a check constraint to add with the contract step.
		 * @param name the constraint
		 * @param expression its boolean expression
		 * @return this builder
		 */
		public Builder check(String name, String expression) {
			this.declared.check(name, expression);
			return this;
		}

		/**
		 * Declare a foreign key to add with the contract step.
		 * @param name the constraint
		 * @param columns the referencing columns
		 * @param references the referenced table
		 * @param referencedColumns the referenced columns, empty for its primary key
		 * @return this builder
		 */
		public Builder foreignKey(String name, List<String> columns, String references,
				List<String> referencedColumns) {
			this.declared.foreignKey(name, columns, references, referencedColumns);
			return this;
		}

		/**
		 * Declare a unique constraint to add with the contract step.
		 * @param name the constraint and its index
		 * @param columns its columns
		 * @return this builder
		 */
		public Builder unique(String name, String... columns) {
			this.declared.unique(name, columns);
			return this;
		}

		public MigrationDefinition build() {
			return new MigrationDefinition(this);
		}

	}

}
