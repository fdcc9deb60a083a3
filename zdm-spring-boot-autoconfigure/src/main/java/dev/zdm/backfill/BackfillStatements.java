package dev.zdm.backfill;

import java.util.Map;
import java.util.stream.Collectors;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;

/**
 * The statements a backfill sends to the migration's table, built once from the table's and columns' quoted
 * identifiers and the declared {@code up} expressions. Keys travel as text and are bound untyped, so PostgreSQL
 * reads them as the key column's type.
 */
final class BackfillStatements {

	private final String maxKey;

	private final String countUpTo;

	private final String firstBatch;

	private final String nextBatch;

	private final String copyFirst;

	private final String copyNext;

	private final String verifyFirst;

	private final String verifyNext;

	private final String repairFirst;

	private final String repairNext;

	private final String vacuum;

	BackfillStatements(MigrationDefinition migration) {
		if (migration.key().size() != 1) {
			throw new IllegalArgumentException("A backfill walks a single-column key; migration '" + migration.id()
					+ "' has key " + migration.key());
		}
		String table = migration.table().quoted();
		String alias = migration.table().table().quoted();
		String key = migration.key().get(0).quoted();
		String newColumns = migration.up()
			.keySet()
			.stream()
			.map(SqlIdentifier::quoted)
			.collect(Collectors.joining(", "));
		String upExpressions = migration.up()
			.values()
			.stream()
			.map((expression) -> "(" + expression + ")")
			.collect(Collectors.joining(", "));
		String assignments = migration.up()
			.entrySet()
			.stream()
			.map(BackfillStatements::assignment)
			.collect(Collectors.joining(", "));
		String disagrees = "ROW(" + newColumns + ") IS DISTINCT FROM ROW(" + upExpressions + ")";
		this.maxKey = "SELECT max(" + key + ")::text FROM " + table;
		this.countUpTo = "SELECT count(*) FROM " + table + " WHERE " + key + " <= ?";
		String batch = "SELECT count(*), max(" + key + ")::text FROM (SELECT " + key + " FROM " + table + " WHERE %s"
				+ key + " <= ? ORDER BY " + key + " LIMIT ?) AS batch";
		this.firstBatch = batch.formatted("");
		this.nextBatch = batch.formatted(key + " > ? AND ");
		String copy = "UPDATE " + table + " AS " + alias + " SET " + assignments + " WHERE %s" + key + " <= ? AND "
				+ disagrees;
		this.copyFirst = copy.formatted("");
		this.copyNext = copy.formatted(key + " > ? AND ");
		String verify = "SELECT count(*), count(*) FILTER (WHERE " + disagrees + "), max(" + key + ")::text FROM (SELECT * FROM "
				+ table + " %sORDER BY " + key + " LIMIT ?) AS " + alias;
		this.verifyFirst = verify.formatted("");
		this.verifyNext = verify.formatted("WHERE " + key + " > ? ");
		this.repairFirst = this.copyFirst;
		this.repairNext = this.copyNext;
		this.vacuum = "VACUUM " + table;
	}

	private static String assignment(Map.Entry<SqlIdentifier, String> up) {
		return up.getKey().quoted() + " = (" + up.getValue() + ")";
	}

	/** The largest key, as text. */
	String maxKey() {
		return this.maxKey;
	}

	/** Rows with a key up to a bound. */
	String countUpTo() {
		return this.countUpTo;
	}

	/** Rows and highest key of the next batch: after a key (if any), up to the upper bound, limited. */
	String batch(boolean first) {
		return first ? this.firstBatch : this.nextBatch;
	}

	/** Sets the new columns from the current row for a key range, skipping rows that already agree. */
	String copy(boolean first) {
		return first ? this.copyFirst : this.copyNext;
	}

	/** Rows, disagreeing rows and highest key of the next verification batch. */
	String verify(boolean first) {
		return first ? this.verifyFirst : this.verifyNext;
	}

	/** Repairs the disagreeing rows of a key range. */
	String repair(boolean first) {
		return first ? this.repairFirst : this.repairNext;
	}

	/** Vacuums the table. */
	String vacuum() {
		return this.vacuum;
	}

}
