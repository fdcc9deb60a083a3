package dev.zdm.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceUtils;

/**
 * Read-only look-ups in PostgreSQL's catalog: every query zdm makes to learn about the application's tables
 * is here. Nothing here writes to the database.
 */
public class DatabaseCatalog {

	private static final String FIND_TABLE = """
			SELECT n.nspname
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relname = ? AND c.relkind IN ('r', 'p')
			  AND (n.nspname = CAST(? AS text)
			       OR (CAST(? AS text) IS NULL AND n.nspname = ANY (current_schemas(false))))
			ORDER BY array_position(current_schemas(false), n.nspname::text) NULLS LAST
			LIMIT 1
			""";

	private static final String SEARCH_PATH = "SELECT array_to_string(current_schemas(false), ', ')";

	private static final String COLUMNS = """
			SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
			FROM pg_attribute a
			  JOIN pg_class c ON c.oid = a.attrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum
			""";

	private static final String PRIMARY_KEY = """
			SELECT a.attname
			FROM pg_index i
			  JOIN pg_class c ON c.oid = i.indrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
			  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
			WHERE i.indisprimary AND n.nspname = ? AND c.relname = ?
			ORDER BY k.position
			""";

	private static final String UNIQUE_COLUMN = """
			SELECT EXISTS (
			  SELECT 1
			  FROM pg_index i
			    JOIN pg_class c ON c.oid = i.indrelid
			    JOIN pg_namespace n ON n.oid = c.relnamespace
			    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
			  WHERE n.nspname = ? AND c.relname = ? AND a.attname = ? AND i.indisunique AND i.indisvalid
			    AND i.indimmediate AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL)
			""";

	private static final String LOCK_NOT_AVAILABLE = "55P03";

	private static final String EXPLAIN_LOCK_TIMEOUT = "200ms";

	private static final String SET_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '" + EXPLAIN_LOCK_TIMEOUT + "'";

	private static final int EXPLAIN_ATTEMPTS = 50;

	private static final long EXPLAIN_RETRY_PAUSE_MILLIS = 100;

	private final DataSource dataSource;

	private final JdbcTemplate jdbcTemplate;

	/**
	 * Create a catalog reader.
	 * @param dataSource the application's data source
	 */
	public DatabaseCatalog(DataSource dataSource) {
		this.dataSource = dataSource;
		this.jdbcTemplate = new JdbcTemplate(dataSource);
	}

	/**
	 * Find the schema holding a table: the configured one, or the first schema on the search path that has it.
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
		Map<String, String> columns = new LinkedHashMap<>();
		this.jdbcTemplate.query(COLUMNS, (rs) -> {
			columns.put(rs.getString("attname"), rs.getString("type"));
		}, schemaOf(table), table.table().name());
		return columns;
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
	 * Whether a column alone is unique in a table: it is the primary key or has a unique index of its own
	 * (valid, not deferred, not partial), as {@code INSERT ... ON CONFLICT (column)} needs.
	 * @param table a table qualified with its schema
	 * @param column the column
	 * @return {@code true} if the column is unique
	 */
	public boolean isUniqueColumn(TableName table, SqlIdentifier column) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(UNIQUE_COLUMN, Boolean.class, schemaOf(table),
				table.table().name(), column.name()));
	}

	/**
	 * Check that an SQL expression over a table's columns is well formed, without evaluating it: it is planned
	 * with {@code EXPLAIN} in a read-only transaction that is rolled back.
	 * @param table a table qualified with its schema
	 * @param expression the expression
	 * @return PostgreSQL's error message, or {@code null} if the expression is valid
	 */
	public @Nullable String checkExpression(TableName table, String expression) {
		String lexicalProblem = SqlExpressions.lexicalProblem(expression);
		if (lexicalProblem != null) {
			return lexicalProblem;
		}
		for (int attempt = 1;; attempt++) {
			try {
				return explain(table, expression);
			}
			catch (LockNotAvailableException ex) {
				if (attempt == EXPLAIN_ATTEMPTS) {
					throw new IllegalStateException("Could not check expression on " + table + ": the table stayed locked by "
							+ "another session for " + EXPLAIN_ATTEMPTS + " attempts of " + EXPLAIN_LOCK_TIMEOUT, ex);
				}
				sleep(EXPLAIN_RETRY_PAUSE_MILLIS * attempt);
			}
		}
	}

	/**
	 * Plan the expression in a read-only transaction with a short lock timeout, so that the check never queues
	 * behind a lock long enough to stall the application's queries.
	 */
	private @Nullable String explain(TableName table, String expression) throws LockNotAvailableException {
		Connection connection = DataSourceUtils.getConnection(this.dataSource);
		try {
			boolean autoCommit = connection.getAutoCommit();
			boolean readOnly = connection.isReadOnly();
			try {
				connection.setAutoCommit(false);
				connection.setReadOnly(true);
				try (Statement statement = connection.createStatement()) {
					statement.execute(SET_LOCK_TIMEOUT);
					statement.execute("EXPLAIN SELECT (" + expression + ") FROM " + table.quoted());
					return null;
				}
				catch (SQLException ex) {
					if (LOCK_NOT_AVAILABLE.equals(ex.getSQLState())) {
						throw new LockNotAvailableException(ex);
					}
					return ex.getMessage();
				}
				finally {
					connection.rollback();
				}
			}
			finally {
				connection.setReadOnly(readOnly);
				connection.setAutoCommit(autoCommit);
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not check expression on " + table, ex);
		}
		finally {
			DataSourceUtils.releaseConnection(connection, this.dataSource);
		}
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while waiting to check an expression", ex);
		}
	}

	private static final class LockNotAvailableException extends Exception {

		LockNotAvailableException(SQLException cause) {
			super(cause);
		}

	}

	private static String schemaOf(TableName table) {
		if (table.schema() == null) {
			throw new IllegalArgumentException("Table " + table + " must be qualified with its schema");
		}
		return table.schema().name();
	}

}
