package dev.zdm.internal.catalog;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceUtils;

import dev.zdm.internal.catalog.DatabaseCatalog.ExpressionCheck;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * How {@link DatabaseCatalog} checks an expression against PostgreSQL without running it:
 * it plans it with {@code EXPLAIN}, and tries it as a stored generated column of a
 * temporary copy of the table, each in a transaction that is rolled back, under a short
 * lock timeout, trying again while another session holds a lock on the table. Nothing
 * here writes to the database.
 */
final class ExpressionTrials {

	// the catalog's logger, as before this class was split from it
	private static final Log logger = LogFactory.getLog(DatabaseCatalog.class);

	private static final String PERMISSION_DENIED = "42501";

	private static final String NOT_IMMUTABLE_FUNCTIONS = """
			/* zdm */ SELECT p.proname || '() (' || CASE min(p.provolatile) WHEN 's' THEN 'stable' ELSE 'volatile' END || ')'
			FROM pg_proc p
			WHERE p.proname = ANY (?) AND pg_function_is_visible(p.oid)
			GROUP BY p.proname
			HAVING bool_and(p.provolatile <> 'i')
			ORDER BY p.proname
			""";

	private static final Pattern FUNCTION_CALL = Pattern.compile("([A-Za-z_][A-Za-z0-9_$]*)\\s*\\(");

	// PostgreSQL's error as the check raises it again (SQL state P0001): "ERROR: 42P17:
	// ..."
	private static final Pattern RAISED_AGAIN = Pattern.compile("^ERROR: ([0-9A-Z]{5}): (.*)", Pattern.DOTALL);

	private static final String LOCK_NOT_AVAILABLE = "55P03";

	private static final String UNDEFINED_COLUMN = "42703";

	private static final String EXPLAIN_LOCK_TIMEOUT = "200ms";

	private static final String SET_LOCK_TIMEOUT = "/* zdm */ SET LOCAL lock_timeout = '" + EXPLAIN_LOCK_TIMEOUT + "'";

	private static final int EXPLAIN_ATTEMPTS = 50;

	private static final long EXPLAIN_RETRY_PAUSE_MILLIS = 100;

	private final DataSource dataSource;

	private final JdbcTemplate jdbcTemplate;

	ExpressionTrials(DataSource dataSource, JdbcTemplate jdbcTemplate) {
		this.dataSource = dataSource;
		this.jdbcTemplate = jdbcTemplate;
	}

	/**
	 * Plan the expression in a read-only transaction with a short lock timeout, so that
	 * the check never queues behind a lock long enough to stall the application's
	 * queries.
	 */
	@Nullable String explain(TableName table, String expression) {
		return whileLocked(table, () -> tryExplain(table, expression));
	}

	private @Nullable String tryExplain(TableName table, String expression) throws LockNotAvailableException {
		Connection connection = DataSourceUtils.getConnection(this.dataSource);
		try {
			boolean autoCommit = connection.getAutoCommit();
			boolean readOnly = connection.isReadOnly();
			try {
				connection.setAutoCommit(false);
				connection.setReadOnly(true);
				try (Statement statement = connection.createStatement()) {
					statement.execute(SET_LOCK_TIMEOUT);
					statement.execute("/* zdm */ EXPLAIN SELECT (" + expression + ") FROM " + table.quoted());
					return null;
				}
				catch (SQLException ex) {
					if (LOCK_NOT_AVAILABLE.equals(ex.getSQLState())) {
						throw new LockNotAvailableException(ex);
					}
					return PERMISSION_DENIED.equals(ex.getSQLState())
							? DatabaseCatalog.MISSING_PRIVILEGE + ex.getMessage() : ex.getMessage();
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

	/**
	 * Run a check of an expression on a table, trying again while another session holds a
	 * lock on the table that the check's short lock timeout gives up on, and saying once
	 * in the log that start-up waits for it.
	 */
	private <T> T whileLocked(TableName table, LockedCheck<T> check) {
		for (int attempt = 1;; attempt++) {
			try {
				return check.run();
			}
			catch (LockNotAvailableException ex) {
				if (attempt == EXPLAIN_ATTEMPTS) {
					throw new IllegalStateException("Could not check expression on " + table
							+ ": the table stayed locked by " + "another session for " + EXPLAIN_ATTEMPTS
							+ " attempts of " + EXPLAIN_LOCK_TIMEOUT, ex);
				}
				if (attempt == 1) {
					logger.info("zdm: checking an expression on " + table + " waits for a lock another session holds "
							+ "on the table (an ALTER TABLE, a LOCK TABLE, a VACUUM FULL...; pg_locks shows it): "
							+ "start-up goes on once it is released, and fails after " + EXPLAIN_ATTEMPTS + " tries of "
							+ EXPLAIN_LOCK_TIMEOUT + " (about 2 minutes)");
				}
				sleep(EXPLAIN_RETRY_PAUSE_MILLIS * attempt);
			}
		}
	}

	/** A check that gives up when the table's lock is not available at once. */
	@FunctionalInterface
	private interface LockedCheck<T> {

		T run() throws LockNotAvailableException;

	}

	/**
	 * Try an expression as a stored generated column of a temporary copy of the table, in
	 * a transaction that is rolled back, while the table's lock can be had.
	 */
	ExpressionCheck asGeneratedColumn(TableName table, Map<String, String> addedColumns, String expression,
			boolean withGeneratedColumns) {
		return whileLocked(table, () -> {
			ExpressionCheck check = tryAsGeneratedColumn(table, addedColumns, expression, withGeneratedColumns);
			if (check.problem() != null && check.notImmutable()) {
				return new ExpressionCheck(check.problem() + notImmutableFunctions(expression), true);
			}
			return check;
		});
	}

	private ExpressionCheck tryAsGeneratedColumn(TableName table, Map<String, String> addedColumns, String expression,
			boolean withGeneratedColumns) throws LockNotAvailableException {
		Connection connection = DataSourceUtils.getConnection(this.dataSource);
		try {
			boolean autoCommit = connection.getAutoCommit();
			try {
				connection.setAutoCommit(false);
				try (Statement statement = connection.createStatement()) {
					statement.execute(SET_LOCK_TIMEOUT);
					// with its generated columns, which PostgreSQL then refuses to read
					// in the generated column below, as a BEFORE trigger reads them as
					// NULL
					statement.execute("/* zdm */ CREATE TEMPORARY TABLE zdm_expression_check (LIKE " + table.quoted()
							+ (withGeneratedColumns ? " INCLUDING GENERATED" : "") + ") ON COMMIT DROP");
					for (Map.Entry<String, String> column : addedColumns.entrySet()) {
						statement.execute("/* zdm */ ALTER TABLE pg_temp.zdm_expression_check ADD COLUMN IF NOT EXISTS "
								+ new SqlIdentifier(column.getKey()).quoted() + " " + column.getValue());
					}
					statement.execute("/* zdm */ CREATE TEMPORARY VIEW zdm_expression_type AS SELECT (" + expression
							+ ") AS value FROM pg_temp.zdm_expression_check");
					String type;
					try (ResultSet rs = statement
						.executeQuery("/* zdm */ SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
								+ "WHERE attrelid = 'pg_temp.zdm_expression_type'::regclass AND attname = 'value'")) {
						rs.next();
						type = rs.getString(1);
					}
					// Raised again as a plain exception: some of PostgreSQL's answers
					// here (0A000) make connection
					// pools discard the connection. The expression cannot hold '$', so
					// the quoting cannot break.
					statement.execute(
							"/* zdm */ DO $zdm_check$ BEGIN EXECUTE $zdm_sql$ALTER TABLE pg_temp.zdm_expression_check "
									+ "ADD COLUMN zdm_expression_value " + type + " GENERATED ALWAYS AS (" + expression
									+ ") STORED$zdm_sql$; EXCEPTION WHEN OTHERS THEN RAISE EXCEPTION USING ERRCODE = 'P0001', "
									+ "MESSAGE = SQLSTATE || ': ' || SQLERRM; END $zdm_check$");
					return new ExpressionCheck(null, false);
				}
				catch (SQLException ex) {
					if (LOCK_NOT_AVAILABLE.equals(ex.getSQLState())) {
						throw new LockNotAvailableException(ex);
					}
					return problem(ex);
				}
				finally {
					connection.rollback();
				}
			}
			finally {
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

	private static ExpressionCheck problem(SQLException ex) {
		String message = String.valueOf(ex.getMessage());
		String state = String.valueOf(ex.getSQLState());
		Matcher raised = RAISED_AGAIN.matcher(message);
		if ("P0001".equals(state) && raised.find()) {
			state = raised.group(1);
			message = "ERROR: " + raised.group(2);
		}
		if (state.equals(PERMISSION_DENIED)) {
			return new ExpressionCheck(DatabaseCatalog.MISSING_PRIVILEGE + message, false);
		}
		if (message.contains("generation expression is not immutable")) {
			return new ExpressionCheck("it is not immutable: PostgreSQL may give a different value for the same row "
					+ "from one call, statement, session or time zone to the next", true);
		}
		if (message.contains("subquery")) {
			return new ExpressionCheck("it contains a subquery, which reads rows other than the one being written",
					false);
		}
		if (state.equals("42803") || message.contains("aggregate")) {
			return new ExpressionCheck(
					"it calls an aggregate function, which reads rows other than the one being " + "written", false);
		}
		if (state.equals("42P20") || message.contains("window function")) {
			return new ExpressionCheck("it calls a window function, which reads rows other than the one being written",
					false);
		}
		if (message.contains("set-returning")) {
			return new ExpressionCheck("it calls a set-returning function, which gives several values for one row",
					false);
		}
		if (state.equals(UNDEFINED_COLUMN)) {
			return new ExpressionCheck(message, false, true);
		}
		return new ExpressionCheck(message, false);
	}

	// The functions named in the expression that PostgreSQL marks stable or volatile in
	// every visible form.
	private String notImmutableFunctions(String expression) {
		Matcher matcher = FUNCTION_CALL.matcher(expression);
		Set<String> names = new LinkedHashSet<>();
		while (matcher.find()) {
			names.add(matcher.group(1).toLowerCase(Locale.ROOT));
		}
		if (names.isEmpty()) {
			return "; a cast or operator in it is not immutable (for example a cast from a time or date type, or from an enum type, to text or back; or a timestamp to timestamptz or back, which depends on the session's TimeZone: name the zone, as in created AT TIME ZONE 'UTC')";
		}
		List<String> found = this.jdbcTemplate.queryForList(NOT_IMMUTABLE_FUNCTIONS, String.class,
				(Object) names.toArray(String[]::new));
		if (found.isEmpty()) {
			return "; a cast or operator in it, or the form of a function it calls for these argument types, is not "
					+ "immutable (for example a cast from a time or date type, or from an enum type, to text or back; or a timestamp to timestamptz or back, which depends on the session's TimeZone: name the zone, as in created AT TIME ZONE 'UTC')";
		}
		return "; it calls " + String.join(", ", found);
	}

}
