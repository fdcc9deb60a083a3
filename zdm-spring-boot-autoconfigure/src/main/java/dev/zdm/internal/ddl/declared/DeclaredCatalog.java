package dev.zdm.internal.ddl.declared;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceUtils;

import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * What the declared changes need to know of the catalog: every query they make is here.
 * Only reads; the check of a declared column's type and default runs on a temporary table
 * in a transaction that is rolled back.
 */
class DeclaredCatalog {

	private static final String COLUMNS = """
			/* zdm */ SELECT a.attname, a.attnotnull
			FROM pg_attribute a
			WHERE a.attrelid = CAST(? AS regclass) AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum
			""";

	private static final String CONSTRAINT = """
			/* zdm */ SELECT c.contype, c.convalidated
			FROM pg_constraint c
			WHERE c.conrelid = CAST(? AS regclass) AND c.conname = ?
			""";

	private static final String RELATION_IN_SCHEMA = """
			/* zdm */ SELECT c.relkind, coalesce(i.indrelid = CAST(? AS regclass), false)
			FROM pg_class c
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			  LEFT JOIN pg_index i ON i.indexrelid = c.oid
			WHERE n.nspname = ? AND c.relname = ?
			""";

	private static final String INDEX_VALID = """
			/* zdm */ SELECT i.indisvalid
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE i.indrelid = CAST(? AS regclass) AND c.relname = ?
			""";

	// the direct partitions, each with whether it has an index attached to the parent's
	// index of a name (null while the parent has none)
	private static final String PARTITIONS = """
			/* zdm */ SELECT n.nspname, c.relname, c.relkind,
			       EXISTS (SELECT 1 FROM pg_inherits ii JOIN pg_index x ON x.indexrelid = ii.inhrelid
			               WHERE ii.inhparent = to_regclass(CAST(? AS text)) AND x.indrelid = c.oid)
			FROM pg_inherits i
			  JOIN pg_class c ON c.oid = i.inhrelid
			  JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE i.inhparent = CAST(? AS regclass)
			ORDER BY n.nspname, c.relname
			""";

	// the partition key's columns; an expression of the key reads as null
	private static final String PARTITION_KEY = """
			/* zdm */ SELECT a.attname
			FROM pg_partitioned_table p
			  CROSS JOIN LATERAL unnest(p.partattrs::int2[]) WITH ORDINALITY AS k (attnum, position)
			  LEFT JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum
			WHERE p.partrelid = CAST(? AS regclass)
			ORDER BY k.position
			""";

	private static final String SERVER_VERSION = "/* zdm */ SELECT current_setting('server_version_num')::int";

	private final DataSource dataSource;

	private final JdbcTemplate jdbcTemplate;

	DeclaredCatalog(DataSource dataSource) {
		this.dataSource = dataSource;
		this.jdbcTemplate = new JdbcTemplate(dataSource);
	}

	/**
	 * Return a table's columns, each with whether it is {@code NOT NULL}.
	 * @param table a table qualified with its schema
	 * @return column name to {@code attnotnull}, in column order
	 */
	Map<String, Boolean> columns(TableName table) {
		Map<String, Boolean> columns = new LinkedHashMap<>();
		this.jdbcTemplate.query(COLUMNS, (rs) -> {
			columns.put(rs.getString(1), rs.getBoolean(2));
		}, table.quoted());
		return columns;
	}

	/**
	 * Return a table's constraint of a name.
	 * @param table a table qualified with its schema
	 * @param name the constraint
	 * @return the constraint, or {@code null} if the table has none of that name
	 */
	@Nullable Constraint constraint(TableName table, SqlIdentifier name) {
		List<Constraint> found = this.jdbcTemplate.query(CONSTRAINT,
				(rs, row) -> new Constraint(rs.getString(1).charAt(0), rs.getBoolean(2)), table.quoted(), name.name());
		return found.isEmpty() ? null : found.get(0);
	}

	/**
	 * Return what a name is in a table's schema.
	 * @param table a table qualified with its schema
	 * @param name the name of an index to create
	 * @return {@code null} if nothing has that name, {@code "index"} for an index of the
	 * table, else what the relation is
	 */
	@Nullable String relation(TableName table, SqlIdentifier name) {
		List<String> found = this.jdbcTemplate.query(RELATION_IN_SCHEMA,
				(rs, row) -> rs.getBoolean(2) ? "index" : kind(rs.getString(1).charAt(0)), table.quoted(),
				schemaOf(table), name.name());
		return found.isEmpty() ? null : found.get(0);
	}

	/**
	 * Whether a table has a valid index of a name.
	 * @param table a table qualified with its schema
	 * @param name the index
	 * @return {@code true} if it is built and valid
	 */
	boolean isIndexValid(TableName table, SqlIdentifier name) {
		List<Boolean> valid = this.jdbcTemplate.queryForList(INDEX_VALID, Boolean.class, table.quoted(), name.name());
		return !valid.isEmpty() && Boolean.TRUE.equals(valid.get(0));
	}

	/**
	 * Whether a table is partitioned ({@code relkind = 'p'}).
	 * @param table a table qualified with its schema
	 * @return {@code true} for a partitioned table
	 */
	boolean isPartitioned(TableName table) {
		return Boolean.TRUE
			.equals(this.jdbcTemplate.queryForObject(DatabaseCatalog.PARTITIONED, Boolean.class, table.quoted()));
	}

	/**
	 * Return a partitioned table's direct partitions.
	 * @param table a partitioned table qualified with its schema
	 * @param index the parent's index whose attached indexes to look for, or {@code null}
	 * @return the partitions, by schema and name
	 */
	List<Partition> partitions(TableName table, @Nullable SqlIdentifier index) {
		String parentIndex = (index != null) ? new TableName(table.schema(), index).quoted() : null;
		return this.jdbcTemplate.query(PARTITIONS,
				(rs, row) -> new Partition(
						new TableName(new SqlIdentifier(rs.getString(1)), new SqlIdentifier(rs.getString(2))),
						rs.getString(3).charAt(0), rs.getBoolean(4)),
				parentIndex, table.quoted());
	}

	/**
	 * Return the columns of a partitioned table's partition key.
	 * @param table a partitioned table qualified with its schema
	 * @return the columns in key order, {@code null} for an expression
	 */
	List<@Nullable String> partitionKey(TableName table) {
		return this.jdbcTemplate.query(PARTITION_KEY, (rs, row) -> rs.getString(1), table.quoted());
	}

	/**
	 * Return the server's version number, for example {@code 170002}.
	 * @return {@code server_version_num}
	 */
	int serverVersion() {
		Integer version = this.jdbcTemplate.queryForObject(SERVER_VERSION, Integer.class);
		return (version != null) ? version : 0;
	}

	/**
	 * Try a column's type and default on a temporary table of one row, in a transaction
	 * that is rolled back, and tell whether PostgreSQL would add it without rewriting the
	 * table (it then keeps the default as the missing value of existing rows).
	 * @param type the column's SQL type
	 * @param defaultValue its default, or {@code null}
	 * @return PostgreSQL's error, or {@code "volatile"} if the default would rewrite the
	 * table, or {@code null} if the column can be added at once
	 */
	@Nullable String checkColumn(String type, @Nullable String defaultValue) {
		Connection connection = DataSourceUtils.getConnection(this.dataSource);
		try {
			boolean autoCommit = connection.getAutoCommit();
			connection.setAutoCommit(false);
			try (Statement statement = connection.createStatement()) {
				statement.execute("/* zdm */ CREATE TEMPORARY TABLE zdm_column_check (zdm_row int) ON COMMIT DROP");
				statement.execute("/* zdm */ INSERT INTO pg_temp.zdm_column_check VALUES (1)");
				statement.execute("/* zdm */ ALTER TABLE pg_temp.zdm_column_check ADD COLUMN zdm_value " + type
						+ ((defaultValue != null) ? " DEFAULT (" + defaultValue + ")" : ""));
				if (defaultValue == null) {
					return null;
				}
				try (ResultSet rs = statement.executeQuery("/* zdm */ SELECT atthasmissing FROM pg_attribute "
						+ "WHERE attrelid = 'pg_temp.zdm_column_check'::regclass AND attname = 'zdm_value'")) {
					return (rs.next() && rs.getBoolean(1)) ? null : "volatile";
				}
			}
			catch (SQLException ex) {
				return String.valueOf(ex.getMessage());
			}
			finally {
				connection.rollback();
				connection.setAutoCommit(autoCommit);
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not check a declared column", ex);
		}
		finally {
			DataSourceUtils.releaseConnection(connection, this.dataSource);
		}
	}

	private static String kind(char relkind) {
		return switch (relkind) {
			case 'r' -> "table";
			case 'p' -> "partitioned table";
			case 'v' -> "view";
			case 'm' -> "materialized view";
			case 'S' -> "sequence";
			case 'i', 'I' -> "index of another table";
			default -> "relation";
		};
	}

	private static String schemaOf(TableName table) {
		if (table.schema() == null) {
			throw new IllegalArgumentException("Table " + table + " must be qualified with its schema");
		}
		return table.schema().name();
	}

	/**
	 * A table's constraint.
	 *
	 * @param type {@code pg_constraint.contype}: {@code c} check, {@code f} foreign key,
	 * {@code u} unique, {@code p} primary key, {@code n} not null
	 * @param validated whether it is validated
	 */
	record Constraint(char type, boolean validated) {

	}

	/**
	 * A partition of a partitioned table.
	 *
	 * @param table the partition, qualified with its schema
	 * @param kind its {@code pg_class.relkind}: {@code r} a table, {@code p} partitioned
	 * in turn, {@code f} a foreign table
	 * @param indexAttached whether it has an index attached to the parent's index asked
	 * for, {@code false} if none was
	 */
	record Partition(TableName table, char kind, boolean indexAttached) {

	}

}
