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
	 * generated column.
	 */
	ADD_COLUMN_VOLATILE_DEFAULT("add-column-volatile-default",
			"ADD COLUMN with a volatile default (or a serial, identity or stored generated column) rewrites the "
					+ "whole table under an ACCESS EXCLUSIVE lock",
			"Add the column without a default (or with a constant or stable default such as now()), set the default "
					+ "with ALTER COLUMN ... SET DEFAULT for new rows, and fill existing rows with the backfill."),

	/** {@code ADD COLUMN ... NOT NULL} without a default on an existing table. */
	ADD_COLUMN_NOT_NULL("add-column-not-null",
			"ADD COLUMN ... NOT NULL without a default scans the table under an ACCESS EXCLUSIVE lock and fails if "
					+ "it has any row",
			"Add the column as nullable (or with a constant default), backfill it, then add NOT NULL the safe way: "
					+ "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; SET NOT NULL; "
					+ "DROP CONSTRAINT c."),

	/** {@code ALTER COLUMN ... TYPE} that rewrites the table. */
	ALTER_COLUMN_TYPE("alter-column-type",
			"ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock unless the "
					+ "new type is binary compatible (such as varchar(n) to a longer varchar or text)",
			"Add a new column of the new type in the expand script, let zdm dual-write and backfill it, read the new "
					+ "column, and drop the old one in the contract script."),

	/** {@code SET NOT NULL} without a validated {@code CHECK (col IS NOT NULL)}. */
	SET_NOT_NULL("set-not-null",
			"SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock unless a validated CHECK (col IS "
					+ "NOT NULL) constraint already proves it",
			"Run ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; then VALIDATE CONSTRAINT c; (which does not "
					+ "block writes); then SET NOT NULL (which then skips the scan); then DROP CONSTRAINT c."),

	/**
	 * {@code ADD CONSTRAINT} of a foreign key or check without {@code NOT VALID} on an
	 * existing table.
	 */
	ADD_CONSTRAINT("add-constraint",
			"ADD CONSTRAINT (foreign key or check) without NOT VALID checks every row while holding a lock that "
					+ "blocks writes (for a foreign key, on both tables)",
			"Add the constraint with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT ... in a separate "
					+ "statement: validation takes a lock that lets reads and writes go on."),

	/**
	 * {@code ADD UNIQUE}, {@code PRIMARY KEY} or {@code EXCLUDE} constraint that builds
	 * its index under lock.
	 */
	ADD_UNIQUE_CONSTRAINT("add-unique-constraint",
			"ADD CONSTRAINT ... UNIQUE / PRIMARY KEY / EXCLUDE builds its index while holding a lock that blocks "
					+ "reads and writes",
			"Build the index first with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX "
					+ "(or PRIMARY KEY USING INDEX)."),

	/** {@code RENAME} of a column or table. */
	RENAME("rename",
			"renaming a column or table breaks every instance still running the previous version, which keeps "
					+ "using the old name",
			"Do not rename in place: add the new column (or table) in the expand script, let zdm dual-write, "
					+ "backfill " + "and read the new one, and drop the old one in the contract script."),

	/** {@code DROP COLUMN} or {@code DROP TABLE} in an expand script. */
	DROP_IN_EXPAND("drop-in-expand",
			"dropping a column or table in an expand script breaks instances that still read or write it during "
					+ "the rolling deploy",
			"Move the DROP to the migration's contract script, which runs only once no live instance needs the old "
					+ "schema."),

	/** {@code VACUUM FULL}. */
	VACUUM_FULL("vacuum-full", "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock",
			"Use plain VACUUM, or rebuild the table online with a tool such as pg_repack outside zdm."),

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
			"Use REINDEX ... CONCURRENTLY, which zdm runs outside a transaction.");

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
