package dev.zdm.internal.catalog;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * Read-only look-ups in PostgreSQL's catalog: every query zdm makes to learn about the
 * application's tables is here. Nothing here writes to the database.
 */
public class DatabaseCatalog {

	/**
	 * How a check's problem starts when the database refused it for a privilege the
	 * connection's user lacks (SQL state 42501), which says nothing about the expression.
	 */
	public static final String MISSING_PRIVILEGE = "the database refused zdm's check for a privilege its user lacks: ";

	private static final String FIND_TABLE = """
			/* zdm */ SELECT n.nspname
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relname = ? AND c.relkind IN ('r', 'p')
			  AND (n.nspname = CAST(? AS text)
			       OR (CAST(? AS text) IS NULL AND n.nspname = ANY (current_schemas(false))))
			ORDER BY array_position(current_schemas(false), n.nspname::text) NULLS LAST
			LIMIT 1
			""";

	private static final String SEARCH_PATH = "/* zdm */ SELECT array_to_string(current_schemas(false), ', ')";

	// the tables of a schema, or of the schemas on the search path, for a "Did you mean"
	private static final String TABLES = """
			/* zdm */ SELECT c.relname
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p')
			  AND (n.nspname = CAST(? AS text)
			       OR (CAST(? AS text) IS NULL AND n.nspname = ANY (current_schemas(false))))
			ORDER BY 1
			""";

	private static final String COLUMNS = """
			/* zdm */ SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
			FROM pg_attribute a
			  JOIN pg_class c ON c.oid = a.attrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum
			""";

	private static final String SAME_TABLE = "/* zdm */ SELECT to_regclass(?) = to_regclass(?)";

	private static final String GENERATED_COLUMNS = """
			/* zdm */ SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS expression
			FROM pg_attribute a
			  JOIN pg_class c ON c.oid = a.attrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			  JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
			ORDER BY a.attnum
			""";

	// a default is the same value in every row when its tree holds constants and
	// immutable
	// functions only ('x'::text, 0, false, an enum label, and the casts PostgreSQL wraps
	// around them: 'x'::character varying for a varchar(10), 0 for a bigint, 1.50 for a
	// numeric(10,2)); not a call of a stable or volatile function (now(), nextval(...)),
	// a SQL value function (current_timestamp, current_user), a sub-query or a cast
	// through text
	private static final String COLUMN_DEFAULTS = """
			/* zdm */ SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) AS expression,
			       d.adbin::text !~ '[{](SQLVALUEFUNCTION|NEXTVALEXPR|SUBLINK|VAR|PARAM|COERCEVIAIO|ARRAYCOERCEEXPR)[ }]'
			       AND NOT EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text, ':(funcid|opfuncid) ([0-9]+)', 'g') AS f
			                       JOIN pg_proc p ON p.oid = f[2]::oid
			                       WHERE p.provolatile <> 'i') AS constant
			FROM pg_attribute a
			  JOIN pg_class c ON c.oid = a.attrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			  JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
			ORDER BY a.attnum
			""";

	// the named columns of a table that are NOT NULL, its primary key aside
	private static final String NOT_NULL_OUTSIDE_KEY = """
			/* zdm */ SELECT a.attname
			FROM pg_attribute a
			WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
			  AND a.attname = ANY (?)
			  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary
			                  AND a.attnum = ANY (i.indkey))
			ORDER BY a.attnum
			""";

	private static final String NULLABLE_COLUMNS = """
			/* zdm */ SELECT a.attname
			FROM pg_attribute a
			  JOIN pg_class c ON c.oid = a.attrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped AND NOT a.attnotnull
			ORDER BY a.attnum
			""";

	private static final String PRIMARY_KEY = """
			/* zdm */ SELECT a.attname
			FROM pg_index i
			  JOIN pg_class c ON c.oid = i.indrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
			  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
			WHERE i.indisprimary AND n.nspname = ? AND c.relname = ?
			ORDER BY k.position
			""";

	private static final String UNIQUE_KEY = """
			/* zdm */ SELECT EXISTS (
			  SELECT 1
			  FROM pg_index i
			    JOIN pg_class c ON c.oid = i.indrelid
			    JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE n.nspname = ? AND c.relname = ? AND i.indisunique AND i.indisvalid AND i.indimmediate
			    AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = cardinality(?::text[])
			    AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text)
			         FROM generate_series(0, i.indnkeyatts - 1) AS k
			           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[k])
			        = (SELECT array_agg(name ORDER BY name) FROM unnest(?::text[]) AS name))
			""";

	/**
	 * Whether a relation, named by one text parameter as {@code to_regclass} reads it, is
	 * a partitioned table; {@code false} if it does not exist. The one query for it,
	 * which the script checks and the declared changes use too.
	 */
	public static final String PARTITIONED = "/* zdm */ SELECT coalesce((SELECT relkind = 'p' FROM pg_class "
			+ "WHERE oid = to_regclass(?)), false)";

	/**
	 * The database a connection is on.
	 */
	public static final String CURRENT_DATABASE = "/* zdm */ SELECT current_database()";

	// the server part of a JDBC URL: its host (or hosts) and port, never a user or
	// password, which go in its query
	private static final Pattern SERVER = Pattern.compile("^jdbc:postgresql://([^/?]+)");

	private final JdbcTemplate jdbcTemplate;

	private final ExpressionTrials trials;

	/**
	 * Create a catalog reader.
	 * @param dataSource the application's data source
	 */
	public DatabaseCatalog(DataSource dataSource) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.trials = new ExpressionTrials(dataSource, this.jdbcTemplate);
	}

	/**
	 * Find the schema holding a table: the configured one, or the first schema on the
	 * search path that has it.
	 * @param table the table
	 * @return the table's schema, or empty if no such table is visible
	 */
	public Optional<String> findSchema(TableName table) {
		String schema = (table.schema() != null) ? table.schema().name() : null;
		List<String> found = this.jdbcTemplate.queryForList(FIND_TABLE, String.class, table.table().name(), schema,
				schema);
		return found.stream().findFirst();
	}

	/**
	 * Whether a table name as a script writes it (qualified or not, quoted or not) names
	 * a given table, as the search path resolves it.
	 * @param written the name as written
	 * @param table the table
	 * @return {@code true} if both name the same table
	 */
	public boolean names(String written, TableName table) {
		return Boolean.TRUE
			.equals(this.jdbcTemplate.queryForObject(SAME_TABLE, Boolean.class, written, table.quoted()));
	}

	/**
	 * Return the names of the tables a table name could have meant: those of its schema,
	 * or of the schemas on the search path if it names none.
	 * @param table the table
	 * @return the tables' names, unqualified
	 */
	public List<String> tablesBeside(TableName table) {
		String schema = (table.schema() != null) ? table.schema().name() : null;
		return this.jdbcTemplate.queryForList(TABLES, String.class, schema, schema);
	}

	/**
	 * Return the database the catalog reads and its server, for messages.
	 * @return for example {@code database shop_main on localhost:5741}
	 */
	public String database() {
		return Objects.requireNonNull(this.jdbcTemplate.execute((ConnectionCallback<String>) (connection) -> {
			String database;
			try (Statement statement = connection.createStatement();
					ResultSet rs = statement.executeQuery(CURRENT_DATABASE)) {
				rs.next();
				database = rs.getString(1);
			}
			Matcher server = SERVER.matcher(connection.getMetaData().getURL());
			return "database " + database + (server.find() ? " on " + server.group(1) : "");
		}));
	}

	/**
	 * Return the schemas on the search path, for messages.
	 * @return for example {@code public}
	 */
	public String searchPath() {
		String path = this.jdbcTemplate.queryForObject(SEARCH_PATH, String.class);
		return (path != null) ? path : "";
	}

	/**
	 * Return a table's columns and their types.
	 * @param table a table qualified with its schema
	 * @return column name to SQL type, in column order
	 */
	public Map<String, String> columns(TableName table) {
		return columnsTo(COLUMNS, "type", table);
	}

	/**
	 * Return a table's generated columns ({@code GENERATED ALWAYS AS (...) STORED}).
	 * @param table a table qualified with its schema
	 * @return column name to the expression it is generated from, in column order
	 */
	public Map<String, String> generatedColumns(TableName table) {
		return columnsTo(GENERATED_COLUMNS, "expression", table);
	}

	/**
	 * Return the defaults of a table's columns that have one (generated columns aside).
	 * @param table a table qualified with its schema
	 * @return column name to its default, in column order
	 */
	public Map<String, ColumnDefault> columnDefaults(TableName table) {
		Map<String, ColumnDefault> defaults = new LinkedHashMap<>();
		this.jdbcTemplate.query(COLUMN_DEFAULTS, (rs) -> {
			defaults.put(rs.getString("attname"),
					new ColumnDefault(rs.getString("expression"), rs.getBoolean("constant")));
		}, schemaOf(table), table.table().name());
		return defaults;
	}

	/**
	 * A column's default.
	 *
	 * @param expression the default as SQL, as PostgreSQL gives it back
	 * ({@code 'active'::text}, {@code now()})
	 * @param constant whether it is one constant, the same value in every row
	 */
	public record ColumnDefault(String expression, boolean constant) {

	}

	// a query of a table's columns (attname) and what it says of each, in column order
	private Map<String, String> columnsTo(String query, String value, TableName table) {
		Map<String, String> columns = new LinkedHashMap<>();
		this.jdbcTemplate.query(query, (rs) -> {
			columns.put(rs.getString("attname"), rs.getString(value));
		}, schemaOf(table), table.table().name());
		return columns;
	}

	/**
	 * Return the columns of a table that may hold nulls.
	 * @param table a table qualified with its schema
	 * @return the columns without a {@code NOT NULL} constraint, in table order
	 */
	public List<String> nullableColumns(TableName table) {
		return this.jdbcTemplate.queryForList(NULLABLE_COLUMNS, String.class, schemaOf(table), table.table().name());
	}

	/**
	 * Return which of some columns of a table are {@code NOT NULL}, its primary key
	 * aside.
	 * @param table the table, qualified with its schema or found on the search path
	 * @param columns the columns, as named in the table
	 * @return those of them that are {@code NOT NULL} and not in the primary key, in
	 * table order
	 */
	public List<String> notNullOutsideKey(TableName table, List<String> columns) {
		return this.jdbcTemplate.queryForList(NOT_NULL_OUTSIDE_KEY, String.class, table.quoted(),
				columns.toArray(String[]::new));
	}

	/**
	 * Return a table's primary key columns.
	 * @param table a table qualified with its schema
	 * @return the key columns in key order, empty if the table has no primary key
	 */
	public List<String> primaryKey(TableName table) {
		return this.jdbcTemplate.queryForList(PRIMARY_KEY, String.class, schemaOf(table), table.table().name());
	}

	/**
	 * Whether a table is partitioned ({@code relkind = 'p'}).
	 * @param table a table qualified with its schema
	 * @return {@code true} if it is; {@code false} if it is not or does not exist
	 */
	public boolean isPartitioned(TableName table) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(PARTITIONED, Boolean.class, table.quoted()));
	}

	/**
	 * Say which of the privileges an application needs on a table's rows the connection's
	 * role lacks: a table another role created (zdm's DDL role, running a cross-table
	 * migration's expand) is not the application's to write unless granted.
	 * @param table the table, qualified
	 * @return the role and what it lacks, or {@code null} if it lacks nothing
	 */
	public @Nullable MissingPrivileges missingRowPrivileges(TableName table) {
		Map<String, Object> row = this.jdbcTemplate.queryForMap("""
				/* zdm */ SELECT current_user AS role, string_agg(p, ', ' ORDER BY n) AS missing
				FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) WITH ORDINALITY AS privileges(p, n)
				WHERE NOT has_table_privilege(to_regclass(?), p)
				""", table.quoted());
		Object missing = row.get("missing");
		return (missing != null) ? new MissingPrivileges((String) row.get("role"), (String) missing) : null;
	}

	/**
	 * What a role lacks on a table's rows.
	 *
	 * @param role the role
	 * @param privileges the privileges it lacks, as {@code SELECT, INSERT}
	 */
	public record MissingPrivileges(String role, String privileges) {
	}

	/**
	 * Whether columns are unique together in a table: its primary key, a unique
	 * constraint or a unique index over exactly those columns, in any order (valid, not
	 * deferred, not partial), as {@code INSERT ... ON CONFLICT (columns)} and a foreign
	 * key referencing them need.
	 * @param table a table qualified with its schema
	 * @param columns the columns
	 * @return {@code true} if the columns are unique together
	 */
	public boolean isUniqueKey(TableName table, List<SqlIdentifier> columns) {
		String[] names = columns.stream().map(SqlIdentifier::name).toArray(String[]::new);
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(UNIQUE_KEY, Boolean.class, schemaOf(table),
				table.table().name(), names, names));
	}

	/**
	 * Check that an SQL expression over a table's columns is well formed, without
	 * evaluating it: it is planned with {@code EXPLAIN} in a read-only transaction that
	 * is rolled back.
	 * @param table a table qualified with its schema
	 * @param expression the expression
	 * @return PostgreSQL's error message, or {@code null} if the expression is valid
	 */
	public @Nullable String checkExpression(TableName table, String expression) {
		String lexicalProblem = SqlExpressions.lexicalProblem(expression);
		if (lexicalProblem != null) {
			return lexicalProblem;
		}
		return this.trials.explain(table, expression);
	}

	/**
	 * Check that an SQL expression is a deterministic function of one row of a table, by
	 * PostgreSQL's own judgement: it is tried as a stored generated column of a temporary
	 * copy of the table, which PostgreSQL accepts only for expressions over the row's own
	 * columns with immutable functions, operators and casts, and without subqueries,
	 * aggregates, window or set-returning functions. The copy is made in a transaction
	 * that is rolled back; the table itself is only read, under a short lock timeout. The
	 * row is read as zdm's sync trigger reads it, before PostgreSQL computes its stored
	 * generated columns: an expression that reads one is refused.
	 * @param table the table whose row the expression reads, qualified with its schema
	 * @param expression the expression
	 * @return what makes it not deterministic, naming the offending part where PostgreSQL
	 * allows, or {@code null} if it is deterministic
	 */
	public @Nullable String checkDeterministic(TableName table, String expression) {
		return checkDeterministic(table, Map.of(), expression).problem();
	}

	/**
	 * Check that an SQL expression is a deterministic function of one row of a table as
	 * {@link #checkDeterministic(TableName, String)} does, the row read as it is stored,
	 * or as the sync trigger reads it.
	 * @param table the table whose row the expression reads, qualified with its schema
	 * @param expression the expression
	 * @param asTheTriggerReadsIt whether a read of a stored generated column is refused:
	 * the sync trigger, a {@code BEFORE} trigger, reads one as {@code NULL}
	 * @return what makes it not deterministic, or {@code null} if it is deterministic
	 */
	public @Nullable String checkDeterministic(TableName table, String expression, boolean asTheTriggerReadsIt) {
		return checkDeterministic(table, Map.of(), expression, asTheTriggerReadsIt).problem();
	}

	/**
	 * Check that an SQL expression is a deterministic function of one row of a table that
	 * has, beside its own columns, the given columns, such as those an expand script will
	 * add.
	 * @param table the table whose row the expression reads, qualified with its schema
	 * @param addedColumns columns to add to the copy of the table, name to SQL type
	 * @param expression the expression
	 * @return the result of the check
	 * @see #checkDeterministic(TableName, String)
	 */
	public ExpressionCheck checkDeterministic(TableName table, Map<String, String> addedColumns, String expression) {
		return checkDeterministic(table, addedColumns, expression, true);
	}

	/**
	 * Check that an SQL expression is a deterministic function of one row of a table that
	 * has, beside its own columns, the given columns, the row read as it is stored, or as
	 * the sync trigger reads it.
	 * @param table the table whose row the expression reads, qualified with its schema
	 * @param addedColumns columns to add to the copy of the table, name to SQL type
	 * @param expression the expression
	 * @param asTheTriggerReadsIt whether a read of a stored generated column is refused
	 * @return the result of the check
	 * @see #checkDeterministic(TableName, String, boolean)
	 */
	public ExpressionCheck checkDeterministic(TableName table, Map<String, String> addedColumns, String expression,
			boolean asTheTriggerReadsIt) {
		String lexicalProblem = SqlExpressions.lexicalProblem(expression);
		if (lexicalProblem != null) {
			return new ExpressionCheck(lexicalProblem, false);
		}
		return this.trials.asGeneratedColumn(table, addedColumns, expression, asTheTriggerReadsIt);
	}

	/**
	 * The result of a check of an expression.
	 *
	 * @param problem what is wrong, or {@code null} if nothing is
	 * @param notImmutable whether it is wrong for calling a function, operator or cast
	 * that is not immutable
	 * @param undefinedColumn whether it is wrong for reading a column the table does not
	 * have
	 */
	public record ExpressionCheck(@Nullable String problem, boolean notImmutable, boolean undefinedColumn) {

		ExpressionCheck(@Nullable String problem, boolean notImmutable) {
			this(problem, notImmutable, false);
		}

	}

	private static String schemaOf(TableName table) {
		if (table.schema() == null) {
			throw new IllegalArgumentException("Table " + table + " must be qualified with its schema");
		}
		return table.schema().name();
	}

}
