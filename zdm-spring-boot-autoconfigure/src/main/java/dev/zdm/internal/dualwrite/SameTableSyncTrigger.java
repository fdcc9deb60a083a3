package dev.zdm.internal.dualwrite;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.DatabaseCatalog.ColumnDefault;
import dev.zdm.internal.catalog.GeneratedNames;
import dev.zdm.internal.catalog.SqlExpressions;
import dev.zdm.internal.ddl.ContractGuardFunction;
import dev.zdm.internal.ddl.SchemaChangePreview;
import dev.zdm.internal.ddl.script.ScriptObjects.AddedColumn;
import dev.zdm.internal.ddl.script.SqlToken;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;

/**
 * Keeps a same-table migration's old and new columns in sync inside every writing
 * statement, whoever sends it: a row trigger derived from the migration's {@code up} and
 * {@code down} expressions, installed with the expand step and dropped with the contract
 * step. Every statement zdm generates for the trigger is in this class.
 * <p>
 * On {@code INSERT}, when every new column is {@code null} they are derived from the old
 * ones, else when every old column is {@code null} they are derived from the new ones. On
 * {@code UPDATE}, when only the old columns change the new ones are derived; when only
 * the new ones change, the old ones are derived unless the new values already are what
 * {@code up} gives for the old ones (so a backfill or a lossy round trip never rewrites
 * the old side). A statement that sets both sides keeps both values. The trigger's
 * {@code UPDATE OF} column list keeps the function from running for updates of other
 * columns. It has no {@code WHEN} condition on purpose: PostgreSQL prepares a trigger's
 * {@code WHEN} expression once per statement, which for the single-row statements of an
 * application costs more than the function call it saves (see
 * {@code SameTableDualWriteBenchmark}).
 */
public class SameTableSyncTrigger implements SchemaChangeContributor, SchemaChangePreview {

	private static final String FUNCTION_SOURCE = """
			/* zdm */ SELECT p.prosrc
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = ? AND p.proname = ? AND p.pronargs = 0
			""";

	private static final String TRIGGER_PRESENT = """
			/* zdm */ SELECT count(*)
			FROM pg_trigger t
			WHERE t.tgrelid = CAST(? AS regclass) AND t.tgname = ? AND NOT t.tgisinternal AND t.tgenabled <> 'D'
			""";

	private static final String RELAXED_OLD_COLUMNS = """
			/* zdm */ SELECT a.attname, a.attnotnull, a.atthasdef
			FROM pg_attribute a
			  JOIN pg_class c ON c.oid = a.attrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ? AND c.relname = ? AND a.attname = ANY (?) AND (a.attnotnull OR a.atthasdef)
			  AND NOT a.attisdropped
			  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
			                  AND a.attnum = ANY (i.indkey))
			ORDER BY a.attnum
			""";

	private static final int MAX_BASE_NAME_LENGTH = 55;

	private final DatabaseCatalog catalog;

	private final JdbcTemplate jdbcTemplate;

	/**
	 * Create a contributor.
	 * @param dataSource the application's data source
	 */
	public SameTableSyncTrigger(DataSource dataSource) {
		this.catalog = new DatabaseCatalog(dataSource);
		this.jdbcTemplate = new JdbcTemplate(dataSource);
	}

	/**
	 * Return the statements that install the trigger, or nothing when the migration is
	 * not synced by a trigger or the trigger is already installed as it should be.
	 * @param migration the migration, validated against the catalog, after its expand
	 * scripts ran
	 * @return the statements, in order
	 */
	@Override
	public List<String> expandStatements(MigrationDefinition migration) {
		if (!appliesTo(migration)) {
			return List.of();
		}
		Definition definition = define(migration);
		if (isInstalled(migration, definition)) {
			return List.of();
		}
		return definition.statements();
	}

	/**
	 * Return the statements that will install the trigger once the expand scripts have
	 * added their columns: the same as {@link #expandStatements} returns then, since the
	 * function declares a variable for each column the expressions read.
	 * @param migration the migration, its table qualified with its schema
	 * @param added the columns the expand adds before the trigger is installed
	 * @return the statements, in order
	 */
	@Override
	public List<String> expandStatementsAfter(MigrationDefinition migration, List<AddedColumn> added) {
		if (!appliesTo(migration)) {
			return List.of();
		}
		String table = migration.table().table().name();
		List<String> columns = added.stream()
			.filter((column) -> column.table().equals(table))
			.map(AddedColumn::column)
			.toList();
		Definition definition = define(migration, columns);
		return isInstalled(migration, definition) ? List.of() : definition.statements();
	}

	@Override
	public List<String> contractStatements(MigrationDefinition migration) {
		if (!syncedInTable(migration)) {
			return List.of();
		}
		Names names = Names.of(migration);
		TableName table = migration.table();
		List<String> statements = new ArrayList<>();
		for (String relax : relaxOldColumns(migration)) {
			statements.add("ALTER TABLE " + table.quoted() + " " + relax);
		}
		if (migration.down().isEmpty()) {
			statements.addAll(dropTrigger(migration));
			return statements;
		}
		// Until the scripts have dropped the old columns, a write of them would reach
		// them alone and go with them: the trigger becomes a guard that refuses such a
		// write, on every column (a trigger on named columns would keep the scripts from
		// dropping them), and goes once the scripts have run.
		statements.add(guardFunction(migration, names, table));
		statements.add("CREATE OR REPLACE TRIGGER " + names.trigger().quoted() + " BEFORE INSERT OR UPDATE ON "
				+ table.quoted() + " FOR EACH ROW EXECUTE FUNCTION " + names.function(table) + "()");
		return statements;
	}

	@Override
	public List<String> afterContractStatements(MigrationDefinition migration) {
		return (syncedInTable(migration) && !migration.down().isEmpty()) ? dropTrigger(migration) : List.of();
	}

	// a migration synced by the application has no trigger, unless it was synced by one
	// before its sync mode changed; its old columns need the same relaxing before it
	// writes the new side alone
	private static boolean syncedInTable(MigrationDefinition migration) {
		return appliesTo(migration)
				|| (migration.sync() == SyncMode.APPLICATION && !migration.up().isEmpty() && !migration.isCrossTable());
	}

	private static List<String> dropTrigger(MigrationDefinition migration) {
		Names names = Names.of(migration);
		TableName table = migration.table();
		return List.of("DROP TRIGGER IF EXISTS " + names.trigger().quoted() + " ON " + table.quoted(),
				"DROP FUNCTION IF EXISTS " + names.function(table) + "()");
	}

	/**
	 * The function of the trigger while the contract scripts run: it refuses an update
	 * that changes an old column and an insert that gives an old column a value and none
	 * to the new ones, the writes of the old shape that nothing copies any more, and lets
	 * every other write through. It reads the row as JSON, so that it names no column the
	 * scripts drop.
	 */
	private static String guardFunction(MigrationDefinition migration, Names names, TableName table) {
		// an insert of the old shape: an old column set and none of the new ones
		String newAllNull = migration.up()
			.keySet()
			.stream()
			.map((column) -> "coalesce(written -> " + SqlToken.literal(column.name())
					+ ", 'null'::jsonb) = 'null'::jsonb")
			.collect(Collectors.joining(" AND "));
		String message = "zdm: migration " + migration.id() + " is contracting: column %s of "
				+ table.toString().replace("%", "%%")
				+ " is being dropped, and nothing copies what is written to it into the new columns any more; "
				+ "write the new columns instead ("
				+ migration.up().keySet().stream().map(SqlIdentifier::name).collect(Collectors.joining(", ")) + ")";
		return ContractGuardFunction.create(names.function(table), migration.id(),
				migration.down().keySet().stream().map(SqlIdentifier::name).toList(), newAllNull, message);
	}

	/**
	 * Return, for each old column that has them, the actions that take its
	 * {@code NOT NULL} and its default away (catalog-only changes). Once the trigger no
	 * longer syncs, nothing fills the old column, which is about to be dropped: writes of
	 * the new side in between must not fail on its {@code NOT NULL}, nor get a value of
	 * the old column from its default that the guard would read as an old-shape insert.
	 */
	private List<String> relaxOldColumns(MigrationDefinition migration) {
		String[] oldColumns = migration.down().keySet().stream().map(SqlIdentifier::name).toArray(String[]::new);
		if (oldColumns.length == 0) {
			return List.of();
		}
		return this.jdbcTemplate.query(RELAXED_OLD_COLUMNS, (rs, row) -> {
			String column = "ALTER COLUMN " + new SqlIdentifier(rs.getString(1)).quoted();
			List<String> actions = new ArrayList<>();
			// a migration synced by the application had its NOT NULL dropped before the
			// claim (ContractRelax): the sync trigger fills the old columns until here
			if (rs.getBoolean(2) && migration.sync() == SyncMode.TRIGGER) {
				actions.add(column + " DROP NOT NULL");
			}
			if (rs.getBoolean(3)) {
				actions.add(column + " DROP DEFAULT");
			}
			return String.join(", ", actions);
		}, schemaOf(migration.table()), migration.table().table().name(), oldColumns)
			.stream()
			.filter((actions) -> !actions.isEmpty())
			.toList();
	}

	/**
	 * Whether the migration is kept in sync by this trigger.
	 * @param migration the migration
	 * @return {@code true} for a same-table migration with {@code up} expressions
	 */
	public static boolean appliesTo(MigrationDefinition migration) {
		return migration.sync() == SyncMode.TRIGGER && !migration.up().isEmpty() && !migration.isCrossTable();
	}

	/**
	 * Whether every writer of a migration's table keeps its new columns in sync: the
	 * migration is synced by this trigger and the trigger is installed, enabled. An
	 * instance at {@code expand}, which writes the old columns only, then leaves a
	 * verified backfill verified.
	 * @param migration the migration, its table qualified with its schema
	 * @return {@code true} if the trigger keeps the new side in sync
	 */
	public boolean keepsNewSideInSync(MigrationDefinition migration) {
		if (!appliesTo(migration)) {
			return false;
		}
		Integer triggers = this.jdbcTemplate.queryForObject(TRIGGER_PRESENT, Integer.class, migration.table().quoted(),
				Names.of(migration).trigger().name());
		return triggers != null && triggers == 1;
	}

	private boolean isInstalled(MigrationDefinition migration, Definition definition) {
		TableName table = migration.table();
		Names names = Names.of(migration);
		List<String> sources = this.jdbcTemplate.queryForList(FUNCTION_SOURCE, String.class, schemaOf(table),
				names.function().name());
		if (sources.size() != 1 || !definition.body().equals(sources.get(0))) {
			return false;
		}
		Integer triggers = this.jdbcTemplate.queryForObject(TRIGGER_PRESENT, Integer.class, table.quoted(),
				names.trigger().name());
		return triggers != null && triggers == 1;
	}

	Definition define(MigrationDefinition migration) {
		return define(migration, List.of());
	}

	// The columns the expand adds, if they are not in the table yet, come after its
	// columns, as they will in the catalog.
	private Definition define(MigrationDefinition migration, List<String> addedColumns) {
		TableName table = migration.table();
		Names names = Names.of(migration);
		Map<SqlIdentifier, String> up = migration.up();
		Map<SqlIdentifier, String> down = migration.down();
		List<SqlIdentifier> newColumns = List.copyOf(up.keySet());
		Set<String> columnNames = new LinkedHashSet<>(this.catalog.columns(table).keySet());
		columnNames.addAll(addedColumns);
		List<SqlIdentifier> tableColumns = columnNames.stream().map(SqlIdentifier::new).toList();
		List<SqlIdentifier> upVariables = SqlExpressions.referencedColumns(tableColumns, up.values());
		List<SqlIdentifier> downVariables = SqlExpressions.referencedColumns(tableColumns, down.values());
		Set<SqlIdentifier> variables = new LinkedHashSet<>(upVariables);
		variables.addAll(downVariables);
		List<SqlIdentifier> referenced = List.copyOf(variables);
		List<SqlIdentifier> oldColumns = down.isEmpty()
				? referenced.stream().filter((column) -> !newColumns.contains(column)).toList()
				: List.copyOf(down.keySet());
		String oldChanged = any(oldColumns,
				(column) -> "OLD." + column.quoted() + " IS DISTINCT FROM NEW." + column.quoted());
		String newChanged = any(newColumns,
				(column) -> "OLD." + column.quoted() + " IS DISTINCT FROM NEW." + column.quoted());
		String newAllNull = all(newColumns, (column) -> "NEW." + column.quoted() + " IS NULL");
		// an insert that leaves an old column to a constant default of its own writes the
		// new shape as much as one that leaves it null: the default is not a value
		// written
		// (at read-new the application writes the new columns alone, and the old column
		// would keep the default where down gives another value)
		Map<String, ColumnDefault> defaults = this.catalog.columnDefaults(table);
		String oldAllNull = all(oldColumns, (column) -> {
			ColumnDefault oldDefault = defaults.get(column.name());
			return "NEW." + column.quoted() + " IS NULL" + ((oldDefault != null && oldDefault.constant())
					? " OR NEW." + column.quoted() + " IS NOT DISTINCT FROM (" + oldDefault.expression() + ")" : "");
		});
		String newConsistent = all(newColumns,
				(column) -> "NEW." + column.quoted() + " IS NOT DISTINCT FROM (" + up.get(column) + ")");

		Set<SqlIdentifier> updateOf = new LinkedHashSet<>(oldColumns);
		updateOf.addAll(newColumns);
		String createTrigger = "CREATE OR REPLACE TRIGGER " + names.trigger().quoted() + " BEFORE INSERT OR UPDATE OF "
				+ updateOf.stream().map(SqlIdentifier::quoted).collect(Collectors.joining(", ")) + " ON "
				+ table.quoted() + " FOR EACH ROW EXECUTE FUNCTION " + names.function(table) + "()";

		StringBuilder body = new StringBuilder();
		body.append("\n-- zdm: keeps the old and new columns of migration '")
			.append(migration.id())
			.append("' in sync. Generated; trigger ")
			.append(Integer.toHexString(createTrigger.hashCode()))
			.append(".\nDECLARE\n");
		// variables named like the columns let the up and down expressions be evaluated
		// as they are written
		for (SqlIdentifier column : referenced) {
			body.append('\t')
				.append(column.quoted())
				.append(' ')
				.append(table.quoted())
				.append('.')
				.append(column.quoted())
				.append("%TYPE;\n");
		}
		body.append("BEGIN\n\tIF TG_OP = 'UPDATE' THEN\n");
		body.append("\t\tIF (").append(oldChanged).append(") AND NOT (").append(newChanged).append(") THEN\n");
		body.append(loads(upVariables, "\t\t\t")).append(assignments(up, "\t\t\t"));
		if (!down.isEmpty()) {
			body.append("\t\tELSIF (").append(newChanged).append(") AND NOT (").append(oldChanged).append(") THEN\n");
			body.append(loads(referenced, "\t\t\t"));
			body.append("\t\t\tIF NOT (").append(newConsistent).append(") THEN\n");
			body.append(assignments(down, "\t\t\t\t"));
			body.append("\t\t\tEND IF;\n");
		}
		body.append("\t\tEND IF;\n");
		body.append("\tELSIF ").append(newAllNull).append(" THEN\n");
		body.append(loads(upVariables, "\t\t")).append(assignments(up, "\t\t"));
		if (!down.isEmpty()) {
			body.append("\tELSIF ").append(oldAllNull).append(" THEN\n");
			body.append(loads(downVariables, "\t\t")).append(assignments(down, "\t\t"));
		}
		body.append("\tEND IF;\n\tRETURN NEW;\nEND\n");

		String createFunction = "CREATE OR REPLACE FUNCTION " + names.function(table)
				+ "() RETURNS trigger LANGUAGE plpgsql AS $zdm$" + body + "$zdm$";
		return new Definition(body.toString(), List.of(createFunction, createTrigger));
	}

	private static String loads(List<SqlIdentifier> variables, String indent) {
		StringBuilder loads = new StringBuilder();
		variables.forEach((column) -> loads.append(indent)
			.append(column.quoted())
			.append(" := NEW.")
			.append(column.quoted())
			.append(";\n"));
		return loads.toString();
	}

	private static String assignments(Map<SqlIdentifier, String> expressions, String indent) {
		StringBuilder assignments = new StringBuilder();
		expressions.forEach((column, expression) -> assignments.append(indent)
			.append("NEW.")
			.append(column.quoted())
			.append(" := (")
			.append(expression)
			.append(");\n"));
		return assignments.toString();
	}

	private static String any(List<SqlIdentifier> columns, Function<SqlIdentifier, String> condition) {
		return columns.isEmpty() ? "false" : columns.stream().map(condition).collect(Collectors.joining(" OR "));
	}

	private static String all(List<SqlIdentifier> columns, Function<SqlIdentifier, String> condition) {
		return columns.isEmpty() ? "true"
				: columns.stream()
					.map((column) -> "(" + condition.apply(column) + ")")
					.collect(Collectors.joining(" AND "));
	}

	private static String schemaOf(TableName table) {
		if (table.schema() == null) {
			throw new IllegalArgumentException("Table " + table + " must be qualified with its schema");
		}
		return table.schema().name();
	}

	/**
	 * The generated trigger: the function's body, to compare with what is installed, and
	 * the statements that install it.
	 */
	record Definition(String body, List<String> statements) {

	}

	/**
	 * The names of a migration's function and trigger, at most 63 characters.
	 */
	record Names(SqlIdentifier function, SqlIdentifier trigger) {

		static Names of(MigrationDefinition migration) {
			String base = GeneratedNames.fit("zdm_sync_" + migration.id().replace('-', '_'), MAX_BASE_NAME_LENGTH);
			return new Names(new SqlIdentifier(base), new SqlIdentifier(base));
		}

		String function(TableName table) {
			return (table.schema() != null) ? table.schema().quoted() + "." + this.function.quoted()
					: this.function.quoted();
		}

	}

}
