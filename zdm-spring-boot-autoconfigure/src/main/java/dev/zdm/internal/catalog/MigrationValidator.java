package dev.zdm.internal.catalog;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Checks a migration's declaration against the database catalog. It only reads: a
 * declaration it refuses has changed nothing in the database.
 */
public class MigrationValidator {

	private static final Log logger = LogFactory.getLog(MigrationValidator.class);

	// PostgreSQL's message for a column the expression names and the table has not
	private static final Pattern MISSING_COLUMN = Pattern.compile("column \"([^\"]+)\" does not exist");

	private static final Pattern GENERATED_COLUMN_READ = Pattern
		.compile("cannot use generated column \"([^\"]+)\" in column generation expression");

	private final DatabaseCatalog catalog;

	// the data source each migration that names one (zdm.migrations.<id>.data-source)
	// names, by id: a table missing from it may be in another database
	private final Map<String, String> namedDataSources;

	/**
	 * Create a validator.
	 * @param catalog the catalog to check against
	 */
	public MigrationValidator(DatabaseCatalog catalog) {
		this(catalog, Map.of());
	}

	/**
	 * Create a validator of migrations some of which name their data source.
	 * @param catalog the catalog to check against
	 * @param namedDataSources the name of the data source bean each migration that names
	 * one names ({@code zdm.migrations.<id>.data-source}), by migration id
	 */
	public MigrationValidator(DatabaseCatalog catalog, Map<String, String> namedDataSources) {
		this.catalog = catalog;
		this.namedDataSources = Map.copyOf(namedDataSources);
	}

	/**
	 * Return the catalog the validator reads.
	 * @return the catalog
	 */
	public DatabaseCatalog catalog() {
		return this.catalog;
	}

	/**
	 * Check what can be checked before the expand DDL has run: the table, the key, the
	 * old columns and the {@code up} expressions over them.
	 * @param migration the declared migration
	 * @param contracted whether the migration's contract DDL has already run, so the old
	 * columns are gone
	 * @return the migration with its table qualified by schema and its key resolved
	 * @throws ZdmConfigurationException if the declaration does not fit the database
	 */
	public MigrationDefinition validateBeforeExpand(MigrationDefinition migration, boolean contracted) {
		String id = migration.id();
		String schema = this.catalog.findSchema(migration.table())
			.orElseThrow(() -> new ZdmConfigurationException(id,
					"table '" + migration.table() + "' does not exist (searched "
							+ ((migration.table().schema() != null) ? "schema: " + migration.table().schema().name()
									: "schemas: " + this.catalog.searchPath())
							+ ")" + searchedDataSource(id),
					"Check zdm.migrations." + id + ".table." + tableHint(migration.table())
							+ ((this.namedDataSources.containsKey(id)) ? " Check zdm.migrations." + id
									+ ".data-source: the table is looked up in the database of the data source it "
									+ "names, and no other." : "")
							+ " The table must exist before zdm starts: "
							+ "the application's own migrations run first. If Flyway creates it, add "
							+ "spring-boot-starter-flyway: in Spring Boot 4, flyway-core (which zdm brings for its "
							+ "own tables) does not run the application's migrations on its own."));
		TableName table = migration.table().inSchema(schema);
		Map<String, String> columns = this.catalog.columns(table);
		List<SqlIdentifier> key = resolveKey(migration, table, columns);
		if (!contracted) {
			Map<String, String> generated = this.catalog.generatedColumns(table);
			for (SqlIdentifier oldColumn : migration.down().keySet()) {
				requireColumn(id, table, columns, oldColumn, "down", "an old column");
				refuseGeneratedColumnWritten(id, table, generated, oldColumn, "down");
			}
			if (migration.sync() == SyncMode.TRIGGER && !migration.isCrossTable()) {
				warnOfDefaultsTheTriggerCannotTellFromAValue(id, table, migration.down().keySet());
			}
			for (Map.Entry<SqlIdentifier, String> up : migration.up().entrySet()) {
				checkExpression(id, table, "up." + up.getKey(), up.getValue());
				checkDeterministic(id, table, "up." + up.getKey(), up.getValue(), migration.sync());
			}
		}
		for (Map.Entry<SqlIdentifier, String> down : migration.down().entrySet()) {
			String problem = SqlExpressions.lexicalProblem(down.getValue());
			if (problem != null) {
				throw invalidExpression(id, "down." + down.getKey(), down.getValue(), problem);
			}
		}
		MigrationDefinition resolved = migration.toBuilder().table(table).key(key).build();
		if (!contracted) {
			checkTargetKey(resolved);
		}
		return resolved;
	}

	// a migration that names its data source may name the wrong one: a judge's named a
	// second DataSource bean on another database, and the message named no database
	private String searchedDataSource(String id) {
		String name = this.namedDataSources.get(id);
		if (name == null) {
			return "";
		}
		String database;
		try {
			database = " (" + this.catalog.database() + ")";
		}
		catch (DataAccessException ex) {
			database = "";
		}
		return " in data source '" + name + "'" + database;
	}

	// a table of the same name in another case, or one edit or two away; names are taken
	// as they are spelt, case included, as a quoted identifier is
	private String tableHint(TableName table) {
		String hint = NearestName.of(this.catalog.tablesBeside(table), table.table().name());
		if (hint == null) {
			return "";
		}
		String meant = ((table.schema() != null) ? table.schema().name() + "." : "") + hint;
		return " Did you mean '" + meant + "'?" + (hint.equalsIgnoreCase(table.table().name())
				? " zdm takes a table's name as it is spelt, case included, as PostgreSQL takes a quoted name." : "");
	}

	// The sync trigger derives an old column from the new ones on an insert that leaves
	// it
	// null or at a constant default; a default that is not a constant (now(), nextval) it
	// cannot tell from a value written
	private void warnOfDefaultsTheTriggerCannotTellFromAValue(String id, TableName table,
			Set<SqlIdentifier> oldColumns) {
		Map<String, DatabaseCatalog.ColumnDefault> defaults = this.catalog.columnDefaults(table);
		for (SqlIdentifier oldColumn : oldColumns) {
			DatabaseCatalog.ColumnDefault columnDefault = defaults.get(oldColumn.name());
			if (columnDefault != null && !columnDefault.constant()) {
				logger.warn("zdm: migration '" + id + "': old column '" + oldColumn.name() + "' of " + table
						+ " has the default " + columnDefault.expression() + ", which is not a constant: the sync "
						+ "trigger cannot tell it from a value written, so an insert that writes the new columns "
						+ "alone (the application's from read-new on) keeps this default in '" + oldColumn.name()
						+ "' instead of what down gives, and instances still reading the old side read it (the "
						+ "final check before the contract holds it back on such rows). Have the new side's inserts "
						+ "write '" + oldColumn.name() + "' too, or drop its default in an expand script once "
						+ "nothing inserts relying on it");
			}
		}
	}

	/**
	 * Check, before the expand DDL has run, what needs the columns it adds: every new
	 * column of {@code up} exists or is added by the expand, and the {@code down}
	 * expressions are deterministic functions of the row with those columns. A
	 * {@code down} expression that reads a column neither in the table nor seen in the
	 * scripts is left to {@link #validateAfterExpand}. Call it only for a migration that
	 * is not contracted.
	 * @param migration a migration returned by {@link #validateBeforeExpand}
	 * @param addedByExpand the columns the expand adds to the migration's table (those
	 * its scripts add and the declared ones), name to SQL type ({@code null} if the type
	 * cannot be read)
	 * @param scripts the expand scripts, for messages
	 * @param dynamic whether the scripts may add columns their text does not show (a
	 * {@code DO} block, a function call), so that a new column not seen in them is left
	 * to {@link #validateAfterExpand}
	 * @throws ZdmConfigurationException if the declaration does not fit the database and
	 * the scripts
	 */
	public void validateWithExpand(MigrationDefinition migration, Map<String, @Nullable String> addedByExpand,
			List<String> scripts, boolean dynamic) {
		String id = migration.id();
		// The new columns of a cross-table migration live in the target table, which the
		// expand usually creates.
		TableName target = migration.targetTable();
		TableName newTable = (target != null) ? target : migration.table();
		Map<String, String> columns = (target != null) ? this.catalog.findSchema(target)
			.map((schema) -> this.catalog.columns(target.inSchema(schema)))
			.orElse(Map.of()) : this.catalog.columns(migration.table());
		for (SqlIdentifier newColumn : migration.up().keySet()) {
			if (!columns.containsKey(newColumn.name()) && !addedByExpand.containsKey(newColumn.name()) && !dynamic) {
				String hint = NearestName.of(addedByExpand.keySet(), newColumn.name());
				hint = (hint != null) ? hint : NearestName.of(columns.keySet(), newColumn.name());
				throw new ZdmConfigurationException(id,
						"new column '" + newColumn + "' (zdm.migrations." + id + ".up) is not in table '" + newTable
								+ "' and no expand script adds it ("
								+ (scripts.isEmpty() ? "the migration has no expand scripts" : "scripts: " + scripts)
								+ "); nothing has run",
						((hint != null) ? "Did you mean '" + hint + "'"
								+ (addedByExpand.containsKey(hint) ? ", which the expand adds" : "")
								+ "? Correct the name in zdm.migrations." + id + ".up; or add" : "Add")
								+ " the column in an expand script under zdm.migrations." + id + ".expand, for "
								+ "example ALTER TABLE " + newTable + " ADD COLUMN " + newColumn
								+ " <the type of its up expression>"
								+ ((hint != null) ? "." : "; or correct the name in zdm.migrations." + id + ".up."));
			}
		}
		if (target != null) {
			// down reads the target row: checked by validateAfterExpand, once the target
			// table exists.
			return;
		}
		Map<String, String> added = new LinkedHashMap<>();
		addedByExpand.forEach((column, type) -> {
			if (!columns.containsKey(column)) {
				added.put(column, (type != null) ? type : "text");
			}
		});
		for (Map.Entry<SqlIdentifier, String> down : migration.down().entrySet()) {
			DatabaseCatalog.ExpressionCheck check = this.catalog.checkDeterministic(migration.table(), added,
					down.getValue(), migration.sync() == SyncMode.TRIGGER);
			if (check.problem() != null && !check.undefinedColumn()) {
				refuseMissingPrivilege(id, "down." + down.getKey(), down.getValue(), check.problem());
				refuseGeneratedColumnRead(id, migration.table(), "down." + down.getKey(), down.getValue(),
						check.problem());
				throw notDeterministic(id, "down." + down.getKey(), down.getValue(), check.problem());
			}
		}
	}

	/**
	 * Refuse migrations that derive or keep in sync the same column of the same table:
	 * their triggers and backfills would overwrite each other's values.
	 * @param migrations the migrations returned by {@link #validateBeforeExpand}, in
	 * declaration order, without those contracted or abandoned (which write no column any
	 * more)
	 * @throws ZdmConfigurationException naming both migrations if two of them clash
	 */
	public static void refuseClashes(List<MigrationDefinition> migrations) {
		Map<String, String> owners = new LinkedHashMap<>();
		for (MigrationDefinition migration : migrations) {
			Map<String, String> own = new LinkedHashMap<>();
			// up writes the new table (the target table of a cross-table migration), down
			// the migration's table.
			TableName upTable = (migration.targetTable() != null) ? migration.targetTable() : migration.table();
			migration.up()
				.keySet()
				.forEach((column) -> own.putIfAbsent(column.name() + "' of table '" + upTable, "up"));
			migration.down()
				.keySet()
				.forEach((column) -> own.putIfAbsent(column.name() + "' of table '" + migration.table(), "down"));
			for (Map.Entry<String, String> column : own.entrySet()) {
				String key = column.getKey();
				String property = "zdm.migrations." + migration.id() + "." + column.getValue();
				String owner = owners.putIfAbsent(key, property);
				if (owner != null) {
					throw new ZdmConfigurationException(migration.id(),
							"column '" + key + "' is written both by " + owner + " and by " + property
									+ ": two migrations would derive or keep in sync the same column, and one would "
									+ "overwrite the other's values",
							"Let one migration own the column: remove it from one of " + owner + " and " + property
									+ ", or run the second migration after the first one's contract.");
				}
			}
		}
	}

	/**
	 * Check what needs the expand DDL to have run: the new columns exist and the
	 * {@code down} expressions over them are valid; for a cross-table migration, also
	 * that the target table exists and that its key column is unique and of the source
	 * key's type.
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
		Map<String, String> generated = contracted ? Map.of() : this.catalog.generatedColumns(newTable);
		for (SqlIdentifier newColumn : migration.up().keySet()) {
			refuseGeneratedColumnWritten(id, newTable, generated, newColumn, "up");
			if (!columns.containsKey(newColumn.name()) && contracted) {
				// its contract scripts may rename or drop it (a widened key renamed back
				// to its old name): an instance restarted with the configuration it ran
				// the contract with was refused, and stayed down
				logger.warn("zdm: migration '" + id + "' is contracted, and its new column '" + newColumn
						+ "' (zdm.migrations." + id + ".up) no longer exists in table '" + newTable
						+ "' (renamed or dropped after the contract?); nothing of the migration reads it any more: "
						+ "remove zdm.migrations." + id + " from the configuration");
			}
			else if (!columns.containsKey(newColumn.name())) {
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
				checkDeterministic(id, newTable, "down." + down.getKey(), down.getValue(), migration.sync());
			}
		}
		return validated;
	}

	/**
	 * Check that the target key names one column for each column of the source key, in
	 * the key's order as far as the names tell it. Needs only the declaration and the
	 * source key, so it runs before the expand, and again after it.
	 * @param migration the migration, its source key resolved
	 */
	private static void checkTargetKey(MigrationDefinition migration) {
		String id = migration.id();
		List<SqlIdentifier> key = migration.key();
		List<SqlIdentifier> targetKey = migration.targetKeys();
		if (migration.targetTable() == null) {
			return;
		}
		if (targetKey.size() != key.size()) {
			throw new ZdmConfigurationException(id,
					"zdm.migrations." + id + ".target-key names " + targetKey.size() + " column(s) " + targetKey
							+ " but the key of " + migration.table() + " has " + key.size() + " " + key,
					"Name one target key column for each column of the key, in the key's order.");
		}
		List<SqlIdentifier> inKeyOrder = inKeyOrder(key, targetKey);
		if (!inKeyOrder.equals(targetKey)) {
			String order = String.join(", ", inKeyOrder.stream().map(SqlIdentifier::toString).toList());
			throw new ZdmConfigurationException(id,
					"zdm.migrations." + id + ".target-key " + targetKey + " names a column of the source key " + key
							+ " at another place than the key's: target-key follows the key's order, each of its "
							+ "columns holding the key column at the same place",
					"Did you mean zdm.migrations." + id + ".target-key: " + order + "?");
		}
	}

	/**
	 * Put the target key's columns in the key's order, as far as their names tell it: a
	 * target column named as a key column goes to that column's place, the others keep
	 * their order in the places left.
	 */
	private static List<SqlIdentifier> inKeyOrder(List<SqlIdentifier> key, List<SqlIdentifier> targetKey) {
		List<SqlIdentifier> ordered = new ArrayList<>(Collections.nCopies(key.size(), (SqlIdentifier) null));
		List<SqlIdentifier> others = new ArrayList<>();
		for (SqlIdentifier column : targetKey) {
			int place = key.indexOf(column);
			if (place >= 0 && ordered.get(place) == null) {
				ordered.set(place, column);
			}
			else {
				others.add(column);
			}
		}
		Iterator<SqlIdentifier> remaining = others.iterator();
		for (int i = 0; i < ordered.size(); i++) {
			if (ordered.get(i) == null) {
				ordered.set(i, remaining.next());
			}
		}
		return ordered;
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
		List<SqlIdentifier> key = migration.key();
		List<SqlIdentifier> targetKey = migration.targetKeys();
		checkTargetKey(migration);
		Map<String, String> columns = this.catalog.columns(target);
		Map<String, String> sourceColumns = this.catalog.columns(migration.table());
		for (int i = 0; i < key.size(); i++) {
			SqlIdentifier column = targetKey.get(i);
			requireColumn(id, target, columns, column, "target-key", "the target key column");
			String keyType = sourceColumns.get(key.get(i).name());
			if (!columns.get(column.name()).equals(keyType)) {
				throw new ZdmConfigurationException(id,
						"target key column '" + column + "' of '" + target + "' is " + columns.get(column.name())
								+ " but the source key '" + key.get(i) + "' of '" + migration.table() + "' is "
								+ keyType,
						"Give the target key column the source key's type (" + keyType + ") in the expand script.");
			}
		}
		DatabaseCatalog.MissingPrivileges missing = this.catalog.missingRowPrivileges(target);
		if (missing != null) {
			// the expand ran as zdm's DDL role, whose new table is not the application's
			// to
			// write: dual-write would fail every write of the application
			throw new ZdmConfigurationException(id,
					"the application's role '" + missing.role() + "' may not " + missing.privileges()
							+ " rows of target table '" + target + "', which it writes from dual-write on",
					"Grant them in an expand script under " + migration.expandLocations() + " (GRANT SELECT, INSERT, "
							+ "UPDATE, DELETE ON " + target.quoted() + " TO " + missing.role()
							+ "), or with ALTER DEFAULT PRIVILEGES for the role that creates it; the expand is tried "
							+ "again and goes on once they are granted.");
		}
		if (!this.catalog.isUniqueKey(target, targetKey)) {
			String list = String.join(", ", targetKey.stream().map(SqlIdentifier::toString).toList());
			throw new ZdmConfigurationException(id,
					((targetKey.size() == 1) ? "target key column '" + list + "' is"
							: "target key columns (" + list + ") are") + " not unique in '" + target + "'",
					"Make " + ((targetKey.size() == 1) ? "it" : "them") + " the target table's primary key or give "
							+ ((targetKey.size() == 1) ? "it a unique index of its own" : "them a unique index")
							+ " in the expand script (CREATE UNIQUE INDEX CONCURRENTLY ... ON " + target + " (" + list
							+ ")): each source row has at most one target row.");
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
			List<String> nullable = this.catalog.nullableColumns(table);
			for (SqlIdentifier column : migration.key()) {
				if (nullable.contains(column.name())) {
					throw new ZdmConfigurationException(id,
							"key column '" + column + "' (zdm.migrations." + id + ".key) of table '" + table
									+ "' may be null, and the backfill and the verification walk the key: rows "
									+ "with a null key would never be copied or checked",
							"Use not null columns as the key (the primary key's, by leaving zdm.migrations." + id
									+ ".key unset), or make the column NOT NULL first.");
				}
			}
			return migration.key();
		}
		List<String> primaryKey = this.catalog.primaryKey(table);
		if (primaryKey.isEmpty()) {
			throw new ZdmConfigurationException(id,
					"table '" + table + "' has no primary key, and the backfill and the verification walk a key",
					"Set zdm.migrations." + id + ".key to not null columns that are unique together, if the table "
							+ "has them; otherwise give the table a primary key first, while it serves traffic, with "
							+ "these statements (docs/backfill.md, \"Tables without a key\"):\n"
							+ KeyRecipe.of(table, columns).describe());
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
		String hint = NearestName.of(columns.keySet(), column.name());
		throw new ZdmConfigurationException(id,
				"column '" + column + "' (" + role + ", zdm.migrations." + id + "." + property
						+ ") does not exist in table '" + table + "'",
				"Use one of the table's columns: " + String.join(", ", columns.keySet()) + "."
						+ ((hint != null) ? " Did you mean '" + hint + "'?" : ""));
	}

	private void checkExpression(String id, TableName table, String property, String expression) {
		String problem = this.catalog.checkExpression(table, expression);
		if (problem == null) {
			return;
		}
		refuseMissingPrivilege(id, property, expression, problem);
		// a column the table has not: say which it has, as for a column named in down
		Matcher missing = MISSING_COLUMN.matcher(problem);
		if (missing.find()) {
			Set<String> columns = this.catalog.columns(table).keySet();
			String hint = NearestName.of(columns, missing.group(1));
			throw new ZdmConfigurationException(id,
					"expression zdm.migrations." + id + "." + property + " = \"" + expression
							+ "\" names a column that table '" + table + "' has not: " + problem,
					"Use the table's columns in it: " + String.join(", ", columns) + "."
							+ ((hint != null) ? " Did you mean '" + hint + "'?" : ""));
		}
		throw invalidExpression(id, property, expression, problem);
	}

	// the sync trigger reads the row before PostgreSQL computes its generated columns;
	// the application and the repositories write values the backfill reads as stored
	private void checkDeterministic(String id, TableName table, String property, String expression, SyncMode sync) {
		String problem = this.catalog.checkDeterministic(table, expression, sync == SyncMode.TRIGGER);
		if (problem != null) {
			refuseMissingPrivilege(id, property, expression, problem);
			refuseGeneratedColumnRead(id, table, property, expression, problem);
			throw notDeterministic(id, property, expression, problem);
		}
	}

	/**
	 * Refuse an expression that reads a stored generated column: PostgreSQL computes it
	 * after the BEFORE triggers, so the sync trigger would read NULL and write NULL on
	 * every insert and update, while the backfill copied the right values. Said with the
	 * expression the column is generated from, to write instead.
	 */
	private void refuseGeneratedColumnRead(String id, TableName table, String property, String expression,
			String problem) {
		Matcher read = GENERATED_COLUMN_READ.matcher(problem);
		if (!read.find()) {
			return;
		}
		String column = read.group(1);
		String generatedFrom = this.catalog.generatedColumns(table).get(column);
		throw new ZdmConfigurationException(id,
				"expression zdm.migrations." + id + "." + property + " = \"" + expression
						+ "\" reads generated column '" + column + "' of table '" + table + "'"
						+ ((generatedFrom != null) ? " (GENERATED ALWAYS AS (" + generatedFrom + ") STORED)" : "")
						+ ": PostgreSQL computes a generated column after the BEFORE triggers, so zdm's sync trigger "
						+ "would read it as NULL and write NULL on every insert and update",
				"Write the expression over the columns '" + column + "' is generated from"
						+ ((generatedFrom != null)
								? ", as its definition does: in place of " + column + ", (" + generatedFrom + ")" : "")
						+ ". Nothing has run.");
	}

	/**
	 * Refuse a generated column as a column zdm writes (an old column of {@code down}, a
	 * new one of {@code up}): PostgreSQL computes it, and ignores what a trigger writes.
	 */
	private static void refuseGeneratedColumnWritten(String id, TableName table, Map<String, String> generated,
			SqlIdentifier column, String property) {
		String generatedFrom = generated.get(column.name());
		if (generatedFrom == null) {
			return;
		}
		throw new ZdmConfigurationException(id,
				"column '" + column + "' (zdm.migrations." + id + "." + property + ") is a generated column of table '"
						+ table + "' (GENERATED ALWAYS AS (" + generatedFrom + ") STORED): PostgreSQL computes it, "
						+ "and ignores what zdm's sync trigger and backfill would write into it",
				"Remove zdm.migrations." + id + "." + property + "." + column + ": PostgreSQL keeps the column up to "
						+ "date from the columns it is generated from"
						+ ("up".equals(property) ? "; if the new column must hold values of its own, add it as a "
								+ "plain column in the expand script" : "")
						+ ". Nothing has run.");
	}

	/**
	 * Refuse an expression the database would not let zdm check, for a privilege the
	 * application's database user lacks, saying so rather than that it is wrong.
	 */
	private static void refuseMissingPrivilege(String id, String property, String expression, String problem) {
		if (problem.startsWith(DatabaseCatalog.MISSING_PRIVILEGE)) {
			throw new ZdmConfigurationException(id,
					"zdm could not check expression zdm.migrations." + id + "." + property + " = \"" + expression
							+ "\": " + problem.substring(DatabaseCatalog.MISSING_PRIVILEGE.length()),
					"zdm checks each expression as the application's database user, by planning it over the table and "
							+ "trying it as a generated column of a temporary copy of the table's shape; the backfill, "
							+ "the sync trigger and the verification then run it as that user too. Grant the user what "
							+ "the error names (for example GRANT EXECUTE ON FUNCTION ... TO <user>, GRANT SELECT ON "
							+ "the table, GRANT TEMPORARY ON DATABASE ...), then start again: nothing has been written.");
		}
	}

	private static ZdmConfigurationException notDeterministic(String id, String property, String expression,
			String problem) {
		return new ZdmConfigurationException(id,
				"expression zdm.migrations." + id + "." + property + " = \"" + expression
						+ "\" is not a deterministic function of the row: " + problem,
				"Write it over the row's own columns with immutable functions only, so that the backfill, the "
						+ "triggers and the verification compute the same value for the same row. If you need a "
						+ "function PostgreSQL marks STABLE or VOLATILE, wrap it in a function of your own declared "
						+ "IMMUTABLE (only if its result really depends on its arguments alone), or compute the value "
						+ "in the application and write it through the repositories instead of zdm.migrations." + id
						+ "." + property.substring(0, property.indexOf('.')) + ".");
	}

	private static ZdmConfigurationException invalidExpression(String id, String property, String expression,
			String problem) {
		return new ZdmConfigurationException(id,
				"expression zdm.migrations." + id + "." + property + " = \"" + expression + "\" is invalid: " + problem,
				"Write a single SQL expression over the table's columns, for example lower(email). "
						+ "Statements, comments and subqueries that change data are not allowed.");
	}

}
