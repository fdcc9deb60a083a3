package dev.zdm.ddl;

import java.util.Arrays;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

/**
 * Operations that block a table's readers or writers for longer than a moment, or rewrite
 * the table, on PostgreSQL, or that break instances still running the previous version.
 * Each has a code, used to allow it, why it is unsafe, and the safe recipe.
 */
public enum UnsafeOperation {

	/** {@code CREATE INDEX} without {@code CONCURRENTLY} on an existing table. */
	CREATE_INDEX("create-index",
			"CREATE INDEX without CONCURRENTLY holds a SHARE lock on the table, blocking every write, for as long "
					+ "as the index takes to build",
			"Use CREATE INDEX CONCURRENTLY IF NOT EXISTS ... in a statement of its own; zdm runs it outside a "
					+ "transaction and drops the index again if the build fails."),

	/**
	 * {@code ADD COLUMN} whose default is volatile, a serial, an identity or a stored
	 * generated column, or a column of a domain with constraints.
	 */
	ADD_COLUMN_VOLATILE_DEFAULT("add-column-volatile-default",
			"ADD COLUMN with a volatile default (or a serial, identity or stored generated column, or a column of a "
					+ "domain with constraints) rewrites the whole table under an ACCESS EXCLUSIVE lock",
			"Add the column without a default (or with a constant or stable default such as now()), set the default "
					+ "with ALTER COLUMN ... SET DEFAULT for new rows, and fill existing rows with the backfill."),

	/** {@code ADD COLUMN ... NOT NULL} without a default on an existing table. */
	ADD_COLUMN_NOT_NULL("add-column-not-null",
			"ADD COLUMN ... NOT NULL without a default scans the table under an ACCESS EXCLUSIVE lock and fails if "
					+ "it has any row",
			"Add the column as nullable (or with a constant default), backfill it, then add NOT NULL the safe way: "
					+ "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; SET NOT NULL; "
					+ "DROP CONSTRAINT c."),

	/**
	 * {@code ALTER COLUMN ... TYPE} that rewrites the table, rebuilds its indexes or
	 * checks its rows again.
	 */
	ALTER_COLUMN_TYPE("alter-column-type",
			"ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock unless the "
					+ "new type is binary compatible (such as varchar(n) to a longer varchar or text); even then, a new "
					+ "collation rebuilds the column's indexes and a check constraint on the column is checked "
					+ "again on every row",
			"Add a new column of the new type in the expand script, let zdm dual-write and backfill it, read the new "
					+ "column, and drop the old one in the contract script."),

	/**
	 * {@code SET NOT NULL} (or {@code ADD PRIMARY KEY USING INDEX} over a nullable
	 * column) without a validated {@code CHECK (col IS NOT NULL)}.
	 */
	SET_NOT_NULL("set-not-null",
			"SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (col IS "
					+ "NOT NULL) constraint already proves it",
			"Run ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; then VALIDATE CONSTRAINT c; (which does not "
					+ "block writes); then SET NOT NULL (which then skips the scan); then DROP CONSTRAINT c."),

	/**
	 * {@code ADD CONSTRAINT} of a foreign key or check without {@code NOT VALID} on an
	 * existing table (or a column added with {@code REFERENCES} or {@code CHECK}), or a
	 * domain's constraint added without {@code NOT VALID} or validated.
	 */
	ADD_CONSTRAINT("add-constraint",
			"ADD CONSTRAINT (foreign key or check) without NOT VALID checks every row while holding a lock that "
					+ "blocks writes (for a foreign key, on both tables; for a domain, on every table with a column "
					+ "of it, and there VALIDATE CONSTRAINT does the same)",
			"Add the constraint with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT ... in a separate "
					+ "statement: validation takes a lock that lets reads and writes go on. For a column, add it "
					+ "without REFERENCES or CHECK first, then add the constraint that way; for a domain, put the "
					+ "check on the tables' columns instead."),

	/**
	 * {@code ADD UNIQUE}, {@code PRIMARY KEY} or {@code EXCLUDE} constraint that builds
	 * its index under lock.
	 */
	ADD_UNIQUE_CONSTRAINT("add-unique-constraint",
			"ADD CONSTRAINT ... UNIQUE / PRIMARY KEY / EXCLUDE builds its index while holding a lock that blocks "
					+ "reads and writes",
			"Build the index first with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX "
					+ "(or PRIMARY KEY USING INDEX)."),

	/**
	 * {@code RENAME} of a column, table, view, schema, type or enum value, or
	 * {@code SET SCHEMA} of a table.
	 */
	RENAME("rename",
			"renaming a column, table, view, schema, type or enum value (or moving a table to another schema) breaks "
					+ "every instance still running the previous version, which keeps using the old name",
			"Do not rename in place: add the new column (or table) in the expand script, let zdm dual-write, "
					+ "backfill " + "and read the new one, and drop the old one in the contract script."),

	/** {@code DROP COLUMN} or {@code DROP TABLE} in an expand script. */
	DROP_IN_EXPAND("drop-in-expand",
			"dropping a column or table in an expand script breaks instances that still read or write it during "
					+ "the rolling deploy",
			"Move the DROP to the migration's contract script, which runs only once no live instance needs the old "
					+ "schema."),

	/** {@code VACUUM FULL}, or {@code REPACK} without {@code CONCURRENTLY}. */
	VACUUM_FULL("vacuum-full",
			"VACUUM FULL (or REPACK without CONCURRENTLY) rewrites the table under an ACCESS EXCLUSIVE lock",
			"Use plain VACUUM, or rebuild the table online with REPACK (CONCURRENTLY) on PostgreSQL 19+ or a tool "
					+ "such as pg_repack outside zdm."),

	/** {@code CLUSTER}. */
	CLUSTER("cluster", "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock",
			"Leave physical ordering out of zero-downtime migrations, or rebuild the table online with a tool such "
					+ "as pg_repack outside zdm."),

	/** {@code LOCK TABLE}. */
	LOCK_TABLE("lock-table",
			"LOCK TABLE takes an explicit lock that blocks the application while it is held, and serves no purpose "
					+ "as zdm runs each statement in a transaction of its own",
			"Remove the LOCK TABLE: each statement runs in a transaction of its own with a lock_timeout and is "
					+ "retried."),

	/** {@code CREATE INDEX CONCURRENTLY} on a partitioned table. */
	PARTITIONED_CONCURRENT_INDEX("partitioned-concurrent-index",
			"PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table (and building the index without "
					+ "CONCURRENTLY blocks writes to every partition while it builds)",
			"Build it partition by partition: CREATE INDEX <name> ON ONLY <parent> (<columns>) (instant: an invalid "
					+ "index of the parent only); for each partition CREATE INDEX CONCURRENTLY <name>_<partition> ON "
					+ "<partition> (<columns>) and ALTER INDEX <name> ATTACH PARTITION <name>_<partition>; the "
					+ "parent's index is valid once every partition's is attached."),

	/** {@code REINDEX} without {@code CONCURRENTLY}. */
	REINDEX("reindex",
			"REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index) while it runs",
			"Use REINDEX ... CONCURRENTLY, which zdm runs outside a transaction."),

	/** {@code DROP INDEX} without {@code CONCURRENTLY} of an existing index. */
	DROP_INDEX("drop-index",
			"DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every "
					+ "query on the table to finish, and every query queued behind it waits too",
			"Use DROP INDEX CONCURRENTLY IF EXISTS ... in a statement of its own (one index per statement); zdm runs "
					+ "it outside a transaction and it lets reads and writes go on."),

	/** {@code ALTER TABLE ... DETACH PARTITION} without {@code CONCURRENTLY}. */
	DETACH_PARTITION("detach-partition",
			"DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the partitioned table, "
					+ "blocking reads and writes of every partition",
			"Use ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) in a statement of its own; zdm runs "
					+ "it outside a transaction. If it is interrupted, finish it with DETACH PARTITION ... FINALIZE."),

	/**
	 * {@code ALTER TABLE ... ATTACH PARTITION} of a table that exists before the scripts
	 * run.
	 */
	ATTACH_PARTITION_SCAN("attach-partition-scan",
			"ATTACH PARTITION scans the attached table for rows outside the partition bound while it holds an ACCESS "
					+ "EXCLUSIVE lock on it, blocking its reads and writes, unless a validated CHECK constraint implies "
					+ "the bound (a default partition is scanned the same way); it also builds, under that lock, each "
					+ "index of the partitioned table the attached table has no match for",
			"Prove the bound first: ALTER TABLE <table> ADD CONSTRAINT <table>_bound CHECK (<the bound as a "
					+ "condition, with the partition key IS NOT NULL>) NOT VALID; ALTER TABLE <table> VALIDATE "
					+ "CONSTRAINT <table>_bound (a scan that lets reads and writes go on); build the partitioned "
					+ "table's indexes on it with CREATE INDEX CONCURRENTLY so that the attach takes them over; then "
					+ "ATTACH PARTITION, which skips the scan, with '-- zdm:allow attach-partition-scan' (zdm cannot "
					+ "tell from the statement that the check implies the bound); then ALTER TABLE <table> DROP "
					+ "CONSTRAINT <table>_bound."),

	/**
	 * {@code SET TABLESPACE}, {@code SET LOGGED}, {@code SET UNLOGGED},
	 * {@code SET ACCESS METHOD} or {@code ALTER COLUMN ... SET EXPRESSION}, which rewrite
	 * the table (or index).
	 */
	TABLE_REWRITE("table-rewrite",
			"this form of ALTER TABLE (SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD, ALTER COLUMN ... SET "
					+ "EXPRESSION; ALTER INDEX ... SET TABLESPACE) writes the whole table or index anew under an ACCESS "
					+ "EXCLUSIVE lock",
			"Leave it out of zero-downtime migrations: for a generated column, add a new column and let zdm fill it; "
					+ "to move or re-log a table, rebuild it online with a tool such as pg_repack outside zdm, or do "
					+ "it while the application is stopped."),

	/** {@code TRUNCATE} of an existing table. */
	TRUNCATE("truncate",
			"TRUNCATE takes an ACCESS EXCLUSIVE lock and empties a table the running instances use (with CASCADE, "
					+ "also every table with a foreign key to it)",
			"Do not empty a live table in a migration: stop using it in the new version and drop it in the contract "
					+ "script, or delete its rows in batches outside the migration."),

	/** {@code DROP DATABASE}. */
	DROP_DATABASE("drop-database",
			"DROP DATABASE destroys a whole database, and fails while any session is connected to it",
			"Remove it: a migration changes the application's tables; drop databases by hand."),

	/**
	 * {@code UPDATE}, {@code DELETE} or {@code MERGE} of an existing table in a script.
	 */
	BACKFILL_IN_SCRIPT("backfill-in-script",
			"UPDATE, DELETE or MERGE of an existing table in a script runs as one transaction that locks every row it "
					+ "changes until it ends, blocking the application's writes to those rows (and the dead rows it "
					+ "leaves bloat the table)",
			"Let zdm fill the new columns: declare the migration's up expressions and its backfill copies the rows in "
					+ "short batches while the application runs; for other data changes, run them in small batches "
					+ "outside the scripts."),

	/** {@code ADD COLUMN} of type {@code json} on an existing table. */
	JSON_COLUMN("json-column",
			"a json column has no equality operator, so queries of the running instances that compare whole rows "
					+ "(SELECT DISTINCT *, UNION without ALL) fail once it is added",
			"Use jsonb instead of json."),

	/** {@code REFRESH MATERIALIZED VIEW} without {@code CONCURRENTLY}. */
	REFRESH_MATERIALIZED_VIEW("refresh-materialized-view",
			"REFRESH MATERIALIZED VIEW without CONCURRENTLY holds an ACCESS EXCLUSIVE lock on the view, blocking "
					+ "every read of it, for as long as its query runs",
			"Use REFRESH MATERIALIZED VIEW CONCURRENTLY (the view needs a unique index on plain columns), which lets "
					+ "reads go on.");

	private final String code;

	private final String reason;

	private final String recipe;

	UnsafeOperation(String code, String reason, String recipe) {
		this.code = code;
		this.reason = reason;
		this.recipe = recipe;
	}

	/**
	 * Return the code that allows this operation, for example {@code create-index}.
	 * @return the code
	 */
	public String code() {
		return this.code;
	}

	/**
	 * Return why the operation is unsafe.
	 * @return the reason
	 */
	public String reason() {
		return this.reason;
	}

	/**
	 * Return the safe way to do the same.
	 * @return the recipe
	 */
	public String recipe() {
		return this.recipe;
	}

	/**
	 * Return the operation with a code.
	 * @param code the code
	 * @return the operation, or {@code null} if none has that code
	 */
	public static @Nullable UnsafeOperation fromCode(String code) {
		return Arrays.stream(values()).filter((operation) -> operation.code.equals(code)).findFirst().orElse(null);
	}

	/**
	 * Return every code, for messages.
	 * @return the codes, comma separated
	 */
	public static String allCodes() {
		return Arrays.stream(values()).map(UnsafeOperation::code).collect(Collectors.joining(", "));
	}

	@Override
	public String toString() {
		return this.code;
	}

}
