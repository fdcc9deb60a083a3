package dev.zdm.internal.ddl.script;

import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.PartitionTree;

/**
 * Read-only catalog look-ups of the DDL concern: whether a relation exists, a column's
 * type, collation and check constraints, whether a function is volatile, whether a
 * validated {@code CHECK (col IS NOT NULL)} exists, and which indexes are invalid. Every
 * catalog query the unsafe-operation checks and the executor make is here. Relation names
 * are SQL text as written in a script and are resolved by PostgreSQL with
 * {@code to_regclass}.
 */
public class DdlCatalog {

	private static final String RELATION_EXISTS = "/* zdm */ SELECT to_regclass(?) IS NOT NULL";

	private static final String COLUMN_TYPE = """
			/* zdm */ SELECT format_type(a.atttypid, a.atttypmod)
			FROM pg_attribute a
			WHERE a.attrelid = to_regclass(?) AND a.attname = ? AND a.attnum > 0 AND NOT a.attisdropped
			""";

	private static final String COLUMN_COLLATION = """
			/* zdm */ SELECT co.collname
			FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation
			WHERE a.attrelid = to_regclass(?) AND a.attname = ? AND a.attnum > 0 AND NOT a.attisdropped
			""";

	private static final String CHECKS_ON_COLUMN = """
			/* zdm */ SELECT c.conname
			FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			WHERE c.conrelid = to_regclass(?) AND c.contype = 'c' AND a.attname = ?
			ORDER BY c.conname
			""";

	private static final String NULLABLE_INDEX_COLUMNS = """
			/* zdm */ SELECT a.attname
			FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indexrelid = to_regclass(?) AND NOT a.attnotnull
			ORDER BY a.attnum
			""";

	private static final String CONSTRAINED_DOMAIN = """
			/* zdm */ SELECT EXISTS (
			    SELECT 1 FROM pg_type t
			    WHERE t.oid = to_regtype(?) AND t.typtype = 'd'
			      AND (t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = t.oid)))
			""";

	private static final String IS_VOLATILE = """
			/* zdm */ SELECT coalesce(bool_or(p.provolatile = 'v'), false) FROM pg_proc p WHERE p.proname = ?
			""";

	private static final String PROVEN_NOT_NULL = """
			/* zdm */ SELECT EXISTS (
			    SELECT 1 FROM pg_attribute a
			    WHERE a.attrelid = to_regclass(?) AND a.attname = ? AND a.attnotnull)
			  OR EXISTS (
			    SELECT 1 FROM pg_constraint c
			    WHERE c.conrelid = to_regclass(?) AND c.contype = 'c' AND c.convalidated
			      AND pg_get_constraintdef(c.oid) = 'CHECK ((' || quote_ident(?) || ' IS NOT NULL))')
			""";

	private static final String INVALID_INDEXES = """
			/* zdm */ SELECT i.indexrelid::regclass::text
			FROM pg_index i
			WHERE i.indrelid = to_regclass(?) AND NOT i.indisvalid
			ORDER BY 1
			""";

	private static final String INDEX_STATE = """
			/* zdm */ SELECT i.indisvalid,
			       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
			FROM pg_class c
			  JOIN pg_index i ON i.indexrelid = c.oid
			WHERE c.relname = ? AND c.relnamespace = (SELECT t.relnamespace FROM pg_class t WHERE t.oid = to_regclass(?))
			""";

	private static final String CONSTRAINT_VALIDATED = """
			/* zdm */ SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(?) AND conname = ? AND convalidated)
			""";

	// a partitioned table's rows and size are its partitions' (its own reltuples stays -1
	// and its size 0): their figures add up, reltuples -1 while none was analyzed
	private static final String TABLE_ESTIMATE = PartitionTree.WITH + """
			SELECT t.root::regclass::text AS name,
			       coalesce(sum(c.reltuples) FILTER (WHERE c.relkind <> 'p' AND c.reltuples >= 0), -1)::bigint
			         AS reltuples,
			       coalesce(sum(s.n_live_tup) FILTER (WHERE c.relkind <> 'p'), 0) AS n_live_tup,
			       coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relkind <> 'p'), 0) AS bytes
			FROM tree t JOIN pg_class c ON c.oid = t.oid LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
			GROUP BY t.root
			""";

	private final JdbcTemplate jdbcTemplate;

	/**
	 * Create a catalog reader.
	 * @param dataSource the application's data source
	 */
	public DdlCatalog(DataSource dataSource) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
	}

	/**
	 * Create a catalog reader without a database, for a subclass that answers every
	 * look-up itself (as the test kit's script check does when no database is at hand).
	 */
	protected DdlCatalog() {
		this.jdbcTemplate = new JdbcTemplate();
	}

	/**
	 * Whether a relation exists.
	 * @param relation the relation's name as SQL text, for example {@code public."Users"}
	 * @return {@code true} if it exists
	 */
	public boolean relationExists(String relation) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(RELATION_EXISTS, Boolean.class, relation));
	}

	/**
	 * Whether a relation is a partitioned table, on which PostgreSQL builds no index
	 * concurrently.
	 * @param relation the relation's name as SQL text
	 * @return {@code true} if it exists and is partitioned
	 */
	public boolean isPartitioned(String relation) {
		return Boolean.TRUE
			.equals(this.jdbcTemplate.queryForObject(DatabaseCatalog.PARTITIONED, Boolean.class, relation));
	}

	/**
	 * Return a column's type as {@code format_type} writes it.
	 * @param table the table's name as SQL text
	 * @param column the column's name as stored in the catalog
	 * @return for example {@code character varying(20)}, or {@code null} if there is no
	 * such column
	 */
	public @Nullable String columnType(String table, String column) {
		List<String> types = this.jdbcTemplate.queryForList(COLUMN_TYPE, String.class, table, column);
		return types.isEmpty() ? null : types.get(0);
	}

	/**
	 * Return a column's collation.
	 * @param table the table's name as SQL text
	 * @param column the column's name as stored in the catalog
	 * @return the collation's name as the catalog stores it, for example {@code default}
	 * or {@code C}, or {@code null} if there is no such column or its type has no
	 * collation
	 */
	public @Nullable String columnCollation(String table, String column) {
		List<String> collations = this.jdbcTemplate.queryForList(COLUMN_COLLATION, String.class, table, column);
		return collations.isEmpty() ? null : collations.get(0);
	}

	/**
	 * Return the check constraints of a table that involve a column, which PostgreSQL
	 * checks again on every row when the column's type changes.
	 * @param table the table's name as SQL text
	 * @param column the column's name as stored in the catalog
	 * @return the constraints' names
	 */
	public List<String> checksOnColumn(String table, String column) {
		return this.jdbcTemplate.queryForList(CHECKS_ON_COLUMN, String.class, table, column);
	}

	/**
	 * Return the columns of an index that are not {@code NOT NULL}, which
	 * {@code ADD PRIMARY KEY USING INDEX} sets {@code NOT NULL}.
	 * @param index the index's name as SQL text
	 * @return the columns' names, or none if there is no such index
	 */
	public List<String> nullableIndexColumns(String index) {
		return this.jdbcTemplate.queryForList(NULLABLE_INDEX_COLUMNS, String.class, index);
	}

	/**
	 * Whether a type is a domain with a check or not-null constraint, a column of which
	 * PostgreSQL adds by rewriting the table.
	 * @param type the type's name as SQL text
	 * @return {@code true} if it is such a domain
	 */
	public boolean isConstrainedDomain(String type) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(CONSTRAINED_DOMAIN, Boolean.class, type));
	}

	/**
	 * Whether any function of this name is volatile.
	 * @param function the function's name, unqualified
	 * @return {@code true} if a volatile function has that name
	 */
	public boolean isVolatile(String function) {
		return Boolean.TRUE.equals(this.jdbcTemplate.queryForObject(IS_VOLATILE, Boolean.class, function));
	}

	/**
	 * Whether a column is known not to hold nulls: it is {@code NOT NULL} already, or a
	 * validated {@code CHECK (col IS NOT NULL)} constraint proves it.
	 * @param table the table's name as SQL text
	 * @param column the column's name as stored in the catalog
	 * @return {@code true} if {@code SET NOT NULL} would not scan the table
	 */
	public boolean isProvenNotNull(String table, String column) {
		return Boolean.TRUE
			.equals(this.jdbcTemplate.queryForObject(PROVEN_NOT_NULL, Boolean.class, table, column, table, column));
	}

	/**
	 * Return a table's invalid indexes, as a failed {@code CREATE INDEX CONCURRENTLY}
	 * leaves them.
	 * @param table the table's name as SQL text
	 * @return the indexes' names, qualified where the search path needs it
	 */
	public List<String> invalidIndexes(String table) {
		return this.jdbcTemplate.queryForList(INVALID_INDEXES, String.class, table);
	}

	/**
	 * Return the state of an index of a table's schema, to tell whether a concurrent
	 * build must run.
	 * @param table the table's name as SQL text
	 * @param index the index's name as the catalog stores it
	 * @return its state
	 */
	public IndexState indexState(String table, String index) {
		List<IndexState> states = this.jdbcTemplate.query(INDEX_STATE, (rs, row) -> rs.getBoolean(1) ? IndexState.VALID
				: (rs.getBoolean(2) ? IndexState.BUILDING : IndexState.INVALID), index, table);
		return states.isEmpty() ? IndexState.ABSENT : states.get(0);
	}

	/**
	 * Whether a table's constraint exists and is validated.
	 * @param table the table's name as SQL text
	 * @param constraint the constraint's name as the catalog stores it
	 * @return {@code true} if {@code VALIDATE CONSTRAINT} has nothing left to do
	 */
	public boolean isConstraintValidated(String table, String constraint) {
		return Boolean.TRUE
			.equals(this.jdbcTemplate.queryForObject(CONSTRAINT_VALIDATED, Boolean.class, table, constraint));
	}

	/**
	 * Return the planner's estimate of a table's rows and its size on disk, indexes and
	 * TOAST included, without reading the table.
	 * @param relation the table, as SQL text
	 * @return the estimate, or {@code null} if there is no such table
	 */
	public @Nullable TableEstimate tableEstimate(String relation) {
		List<TableEstimate> found = this.jdbcTemplate.query(TABLE_ESTIMATE, (rs, row) -> {
			long reltuples = rs.getLong("reltuples");
			long live = rs.getLong("n_live_tup");
			boolean analyzed = reltuples >= 0;
			// a table never analyzed (or vacuumed) has reltuples -1: the statistics
			// collector's count of live rows is the next best figure
			return new TableEstimate(rs.getString("name"), analyzed ? reltuples : Math.max(0, live), analyzed,
					rs.getLong("bytes"));
		}, relation);
		return found.isEmpty() ? null : found.get(0);
	}

	/**
	 * A table's estimated rows and size.
	 *
	 * @param table the table, as PostgreSQL names it
	 * @param rows estimated rows: {@code pg_class.reltuples}, or
	 * {@code pg_stat_all_tables.n_live_tup} if the table was never analyzed
	 * @param analyzed whether {@code rows} comes from {@code reltuples}
	 * @param bytes {@code pg_total_relation_size}
	 */
	public record TableEstimate(String table, long rows, boolean analyzed, long bytes) {

	}

	/**
	 * The state of an index a concurrent build creates.
	 */
	public enum IndexState {

		/** No such index. */
		ABSENT,

		/**
		 * Left invalid by a build that failed or was cancelled, and no session builds it.
		 */
		INVALID,

		/** Invalid, and a session is building it now. */
		BUILDING,

		/** Built and valid. */
		VALID

	}

}
