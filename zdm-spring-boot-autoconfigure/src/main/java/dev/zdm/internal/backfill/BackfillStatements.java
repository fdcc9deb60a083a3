package dev.zdm.internal.backfill;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;

/**
 * The statements a backfill sends to the migration's tables, built once from the quoted
 * identifiers and the declared {@code up} expressions: {@link #of(MigrationDefinition)}
 * picks those of a same-table or a cross-table migration. Every statement works on a key
 * range: {@code :lo} (exclusive, absent for the first batch, hence the {@code first}
 * variants), {@code :hi} (inclusive) and, for the statements that find a batch's range,
 * {@code :n} keys at most. Keys travel as text and are bound untyped, so PostgreSQL reads
 * them as the key column's type.
 */
public abstract sealed class BackfillStatements permits BackfillStatements.SameTable, BackfillStatements.CrossTable {

	private static final Pattern LOWER_BOUND = Pattern.compile("%LO:([^%]+)%");

	/**
	 * Marks where a copy batch's transaction stands before its copy statement, so that a
	 * copy that fails with a unique violation can be undone alone.
	 */
	static final String COPY_SAVEPOINT = "SAVEPOINT zdm_copy";

	/** Undoes the copy statement after {@link #COPY_SAVEPOINT}. */
	static final String ROLLBACK_TO_COPY_SAVEPOINT = "ROLLBACK TO SAVEPOINT zdm_copy";

	/**
	 * The largest key of the source table when the copy starts, as text: the copy's upper
	 * bound.
	 */
	final String copyBound;

	/**
	 * The largest key on either side when a verification pass starts, as text: the pass's
	 * upper bound.
	 */
	final String verifyBound;

	/** Rows of the source table with a key up to {@code :hi}. */
	final String countUpTo;

	/**
	 * Reads the source row with one key (bound untyped, as text): the pacing's probe, an
	 * index point read like the workload's own.
	 */
	final String probe;

	private final String[] copyRange;

	private final String[] verifyRange;

	private final String[] copy;

	private final String[] check;

	private final List<String[]> repair;

	private final String[] disagreeing;

	private final List<String[]> applyOld;

	BackfillStatements(String copyBound, String verifyBound, String countUpTo, String probe, String copyRange,
			String verifyRange, String copy, String check, List<String> repair, String disagreeing,
			List<String> applyOld) {
		this.copyBound = copyBound;
		this.verifyBound = verifyBound;
		this.countUpTo = countUpTo;
		this.probe = probe;
		this.copyRange = variants(copyRange);
		this.verifyRange = variants(verifyRange);
		this.copy = variants(copy);
		this.check = variants(check);
		this.repair = repair.stream().map(BackfillStatements::variants).toList();
		this.disagreeing = variants(disagreeing);
		this.applyOld = applyOld.stream().map(BackfillStatements::variants).toList();
	}

	/**
	 * Return the statements for a migration.
	 * @param migration a validated migration with a single-column key
	 * @return its statements
	 */
	static BackfillStatements of(MigrationDefinition migration) {
		if (migration.key().size() != 1) {
			throw new IllegalArgumentException("A backfill walks a single-column key; migration '" + migration.id()
					+ "' has key " + migration.key());
		}
		return migration.isCrossTable() ? new CrossTable(migration) : new SameTable(migration);
	}

	/**
	 * Count and largest key of the next copy batch: source keys in the range, at most
	 * {@code :n}.
	 */
	String copyRange(boolean first) {
		return variant(this.copyRange, first);
	}

	/**
	 * Count and largest key of the next verification batch: keys in the range on either
	 * side, at most {@code :n}.
	 */
	String verifyRange(boolean first) {
		return variant(this.verifyRange, first);
	}

	/**
	 * Copies the range's source rows to the new side, leaving rows that already agree.
	 */
	String copy(boolean first) {
		return variant(this.copy, first);
	}

	/**
	 * The statement that copies the range instead of {@link #copy(boolean)} when that one
	 * fails with a unique violation (rolled back to {@link #COPY_SAVEPOINT}), or
	 * {@code null} if the copy cannot fail so.
	 */
	abstract @Nullable String copyOnConflict(boolean first);

	/** Counts the range's keys whose two sides disagree (different, missing or extra). */
	String check(boolean first) {
		return variant(this.check, first);
	}

	/**
	 * Repairs the range: the statements to run in order, each returning the rows it
	 * changed.
	 */
	List<String> repair(boolean first) {
		return this.repair.stream().map((statement) -> variant(statement, first)).toList();
	}

	/**
	 * The range's keys whose two sides disagree at the final check before the contract,
	 * as {@code zdm_key} (text) and {@code zdm_kind} ({@code different}, {@code missing}
	 * or {@code extra}), in key order. A same-table row agrees when its new columns are
	 * {@code up} of its old ones or its old columns {@code down} of its new ones, as the
	 * sync trigger leaves every row the application writes.
	 */
	String disagreeing(boolean first) {
		return variant(this.disagreeing, first);
	}

	/**
	 * Sets the new side of the range's disagreeing keys from the old side: the statements
	 * to run in order, each returning the rows it changed.
	 */
	List<String> applyOld(boolean first) {
		return this.applyOld.stream().map((statement) -> variant(statement, first)).toList();
	}

	/**
	 * Vacuums the table the copy rewrites, or {@code null} if the copy leaves no dead
	 * rows behind.
	 */
	abstract @Nullable String vacuum();

	/** The table whose planner statistics estimate how many rows the backfill walks. */
	abstract String estimatedTable();

	private static String[] variants(String template) {
		String first = LOWER_BOUND.matcher(template).replaceAll("");
		String next = LOWER_BOUND.matcher(template)
			.replaceAll((match) -> Matcher.quoteReplacement(match.group(1) + " > :lo AND "));
		return new String[] { first, next };
	}

	private static String variant(String[] variants, boolean first) {
		return first ? variants[0] : variants[1];
	}

	static String joined(Map<SqlIdentifier, String> up, Function<Map.Entry<SqlIdentifier, String>, String> item) {
		return up.entrySet().stream().map(item).collect(Collectors.joining(", "));
	}

	/**
	 * The statements of a migration inside one table: the new columns are set from the
	 * old ones by an {@code UPDATE} that computes them from the current row under its row
	 * lock.
	 */
	static final class SameTable extends BackfillStatements {

		private final String vacuum;

		private final String table;

		SameTable(MigrationDefinition migration) {
			this(migration, migration.table().quoted(), migration.key().get(0).quoted());
		}

		private SameTable(MigrationDefinition migration, String table, String key) {
			super("SELECT max(" + key + ")::text FROM " + table, "SELECT max(" + key + ")::text FROM " + table,
					"SELECT count(*) FROM " + table + " WHERE " + key + " <= :hi", probe(table, key),
					keysInRange(table, key), keysInRange(table, key), update(migration, table, key),
					"SELECT count(*) FROM " + table + " WHERE " + lo(key) + key + " <= :hi AND " + disagrees(migration),
					List.of(update(migration, table, key)),
					"SELECT " + key + "::text AS zdm_key, 'different' AS zdm_kind FROM " + table + " WHERE " + lo(key)
							+ key + " <= :hi AND NOT (" + agrees(migration) + ") ORDER BY " + key,
					List.of("UPDATE " + table + " AS " + migration.table().table().quoted() + " SET "
							+ joined(migration.up(), (up) -> up.getKey().quoted() + " = (" + up.getValue() + ")")
							+ " WHERE " + lo(key) + key + " <= :hi AND NOT (" + agrees(migration) + ")"));
			this.table = table;
			this.vacuum = "VACUUM " + table;
		}

		private static String update(MigrationDefinition migration, String table, String key) {
			String assignments = joined(migration.up(), (up) -> up.getKey().quoted() + " = (" + up.getValue() + ")");
			return "UPDATE " + table + " AS " + migration.table().table().quoted() + " SET " + assignments + " WHERE "
					+ lo(key) + key + " <= :hi AND " + disagrees(migration);
		}

		private static String disagrees(MigrationDefinition migration) {
			return "ROW(" + joined(migration.up(), (up) -> up.getKey().quoted()) + ") IS DISTINCT FROM ROW("
					+ joined(migration.up(), (up) -> "(" + up.getValue() + ")") + ")";
		}

		/**
		 * Whether a row's sides agree through {@code up}, or through {@code down} when it
		 * is declared (a lossy {@code down} leaves rows the application wrote on the new
		 * side that {@code up} does not give back).
		 */
		private static String agrees(MigrationDefinition migration) {
			String up = "ROW(" + joined(migration.up(), (entry) -> entry.getKey().quoted())
					+ ") IS NOT DISTINCT FROM ROW(" + joined(migration.up(), (entry) -> "(" + entry.getValue() + ")")
					+ ")";
			if (migration.down().isEmpty()) {
				return up;
			}
			return up + " OR ROW(" + joined(migration.down(), (entry) -> entry.getKey().quoted())
					+ ") IS NOT DISTINCT FROM ROW(" + joined(migration.down(), (entry) -> "(" + entry.getValue() + ")")
					+ ")";
		}

		@Override
		@Nullable String copyOnConflict(boolean first) {
			return null;
		}

		@Override
		String vacuum() {
			return this.vacuum;
		}

		@Override
		String estimatedTable() {
			return this.table;
		}

	}

	/**
	 * The statements of a migration into another table. The copy inserts the range's
	 * source rows that have no target row yet, computed from the source rows it locks
	 * ({@code FOR SHARE}, in key order), so from their latest row versions: an
	 * application transaction that changed or deleted a source row either committed
	 * before (its values are read, a deleted row is not copied) or waits for the batch.
	 * It never writes a target row that exists: one that the application inserted after
	 * the statement's snapshot makes the insert fail with a unique violation, and the
	 * batch is then copied again by the upsert of {@link #copyOnConflict(boolean)}, which
	 * leaves rows that agree. So the copy never writes a value older than one the
	 * application wrote, and never brings a deleted row back; target rows that differ are
	 * left to the verification.
	 */
	static final class CrossTable extends BackfillStatements {

		private final String source;

		private final String[] upsert;

		CrossTable(MigrationDefinition migration) {
			this(migration, migration.table().quoted(), migration.table().table().quoted(),
					migration.key().get(0).quoted(), migration.targetTable().quoted(), migration.targetKey().quoted());
		}

		private CrossTable(MigrationDefinition migration, String source, String sourceName, String key, String target,
				String targetKey) {
			super("SELECT max(" + key + ")::text FROM " + source,
					"SELECT greatest((SELECT max(" + key + ") FROM " + source + "), (SELECT max(" + targetKey
							+ ") FROM " + target + "))::text",
					"SELECT count(*) FROM " + source + " WHERE " + key + " <= :hi", probe(source, key),
					keysInRange(source, key),
					"SELECT count(*), max(zdm_key)::text FROM ((SELECT " + key + " AS zdm_key FROM " + source
							+ " WHERE " + lo(key) + key + " <= :hi ORDER BY " + key + " LIMIT :n) UNION (SELECT "
							+ targetKey + " FROM " + target + " WHERE " + lo(targetKey) + targetKey
							+ " <= :hi ORDER BY " + targetKey + " LIMIT :n) ORDER BY 1 LIMIT :n) AS batch",
					insertMissing(migration, source, sourceName, key, target, targetKey),
					check(migration, source, key, target, targetKey),
					repairs(migration, source, key, target, targetKey),
					disagreeing(migration, source, key, target, targetKey),
					repairs(migration, source, key, target, targetKey));
			this.source = source;
			this.upsert = variants(upsert(migration, source, key, target, targetKey));
		}

		/**
		 * Inserts the target rows of the range's source rows that have none, locking the
		 * source rows in key order. The source table keeps its own name (the {@code up}
		 * expressions may use it); the target range is repeated in the subquery so that
		 * the planner probes only the batch's part of the target's key index.
		 */
		private static String insertMissing(MigrationDefinition migration, String source, String sourceName, String key,
				String target, String targetKey) {
			String columns = joined(migration.up(), (up) -> up.getKey().quoted());
			String expressions = joined(migration.up(), (up) -> "(" + up.getValue() + ")");
			return "INSERT INTO " + target + " (" + targetKey + ", " + columns + ") SELECT " + sourceName + "." + key
					+ ", " + expressions + " FROM " + source + " WHERE " + lo(sourceName + "." + key) + sourceName + "."
					+ key + " <= :hi AND NOT EXISTS (SELECT 1 FROM " + target + " AS zdm_target WHERE "
					+ lo("zdm_target." + targetKey) + "zdm_target." + targetKey + " <= :hi AND zdm_target." + targetKey
					+ " = " + sourceName + "." + key + ") ORDER BY " + sourceName + "." + key + " FOR SHARE OF "
					+ sourceName;
		}

		private static List<String> repairs(MigrationDefinition migration, String source, String key, String target,
				String targetKey) {
			return List.of(upsert(migration, source, key, target, targetKey),
					"DELETE FROM " + target + " AS zdm_target WHERE " + lo("zdm_target." + targetKey) + "zdm_target."
							+ targetKey + " <= :hi AND NOT EXISTS (SELECT 1 FROM " + source + " AS zdm_source WHERE "
							+ "zdm_source." + key + " = zdm_target." + targetKey + ")");
		}

		@Override
		String copyOnConflict(boolean first) {
			return variant(this.upsert, first);
		}

		/**
		 * The source row's key and its target columns computed by {@code up}, as
		 * {@code zdm_key, zdm_v1, ...}.
		 */
		private static String derived(MigrationDefinition migration, String source, String key, String lock) {
			StringBuilder select = new StringBuilder("SELECT " + key + " AS zdm_key");
			int i = 0;
			for (String expression : migration.up().values()) {
				select.append(", (").append(expression).append(") AS zdm_v").append(++i);
			}
			return select + " FROM " + source + " WHERE " + lo(key) + key + " <= :hi" + lock;
		}

		private static String values(MigrationDefinition migration, String alias) {
			StringBuilder values = new StringBuilder();
			for (int i = 1; i <= migration.up().size(); i++) {
				values.append((i > 1) ? ", " : "").append(alias).append(".zdm_v").append(i);
			}
			return values.toString();
		}

		private static String upsert(MigrationDefinition migration, String source, String key, String target,
				String targetKey) {
			String columns = joined(migration.up(), (up) -> up.getKey().quoted());
			String targetColumns = joined(migration.up(), (up) -> "zdm_target." + up.getKey().quoted());
			String excluded = joined(migration.up(), (up) -> "EXCLUDED." + up.getKey().quoted());
			String assignments = joined(migration.up(),
					(up) -> up.getKey().quoted() + " = EXCLUDED." + up.getKey().quoted());
			return "WITH zdm_source AS (" + derived(migration, source, key, " ORDER BY " + key + " FOR SHARE")
					+ ") INSERT INTO " + target + " AS zdm_target (" + targetKey + ", " + columns + ") SELECT zdm_key, "
					+ values(migration, "zdm_source") + " FROM zdm_source ON CONFLICT (" + targetKey
					+ ") DO UPDATE SET " + assignments + " WHERE ROW(" + targetColumns + ") IS DISTINCT FROM ROW("
					+ excluded + ")";
		}

		private static String check(MigrationDefinition migration, String source, String key, String target,
				String targetKey) {
			return "SELECT count(*) FROM " + fullJoin(migration, source, key, target, targetKey);
		}

		private static String disagreeing(MigrationDefinition migration, String source, String key, String target,
				String targetKey) {
			return "SELECT zdm_key::text AS zdm_key, CASE WHEN zdm_target.zdm_key IS NULL THEN 'missing' "
					+ "WHEN zdm_source.zdm_key IS NULL THEN 'extra' ELSE 'different' END AS zdm_kind FROM "
					+ fullJoin(migration, source, key, target, targetKey) + " ORDER BY zdm_key";
		}

		/**
		 * The range's source rows computed by {@code up} joined with its target rows by
		 * key, keeping the keys missing, extra or different.
		 */
		private static String fullJoin(MigrationDefinition migration, String source, String key, String target,
				String targetKey) {
			StringBuilder targetValues = new StringBuilder("SELECT " + targetKey + " AS zdm_key");
			int i = 0;
			for (SqlIdentifier column : migration.up().keySet()) {
				targetValues.append(", ").append(column.quoted()).append(" AS zdm_v").append(++i);
			}
			targetValues.append(" FROM ")
				.append(target)
				.append(" WHERE ")
				.append(lo(targetKey))
				.append(targetKey)
				.append(" <= :hi");
			return "(" + derived(migration, source, key, "") + ") AS zdm_source FULL JOIN (" + targetValues
					+ ") AS zdm_target USING (zdm_key) WHERE zdm_source.zdm_key IS NULL OR "
					+ "zdm_target.zdm_key IS NULL OR ROW(" + values(migration, "zdm_source") + ") IS DISTINCT FROM ROW("
					+ values(migration, "zdm_target") + ")";
		}

		@Override
		@Nullable String vacuum() {
			return null;
		}

		@Override
		String estimatedTable() {
			return this.source;
		}

	}

	/**
	 * The lower bound condition on a key column: a placeholder the {@code first} variant
	 * drops.
	 */
	private static String lo(String key) {
		return "%LO:" + key + "%";
	}

	private static String probe(String table, String key) {
		return "SELECT " + key + " FROM " + table + " WHERE " + key + " = ?";
	}

	private static String keysInRange(String table, String key) {
		return "SELECT count(*), max(" + key + ")::text FROM (SELECT " + key + " FROM " + table + " WHERE " + lo(key)
				+ key + " <= :hi ORDER BY " + key + " LIMIT :n) AS batch";
	}

}
