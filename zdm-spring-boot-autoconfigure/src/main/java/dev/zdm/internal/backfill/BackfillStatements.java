package dev.zdm.internal.backfill;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.namedparam.MapSqlParameterSource;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;

/**
 * The statements a backfill sends to the migration's tables, built once from the quoted
 * identifiers and the declared {@code up} expressions: {@link #of(MigrationDefinition)}
 * picks those of a same-table or a cross-table migration. Every statement works on a key
 * range, {@link #range(String, String, int)}: {@code :lo} (exclusive, absent for the
 * first batch), {@code :hi} (inclusive) and, for the statements that find a batch's
 * range, {@code :n} keys at most; each statement is written in the form that fits the
 * range ({@link KeyColumns#forms()}). Keys travel as text and are bound untyped, so
 * PostgreSQL reads them as the key column's type.
 */
public abstract sealed class BackfillStatements permits BackfillStatements.SameTable, BackfillStatements.CrossTable {

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

	private final KeyColumns key;

	private final Map<SqlIdentifier, String> up;

	// the old columns from the new, for a migration inside one table: null otherwise
	private final @Nullable Map<SqlIdentifier, String> down;

	BackfillStatements(MigrationDefinition migration, KeyColumns key, String copyBound, String verifyBound,
			String countUpTo, String probe, String copyRange, String verifyRange, String copy, String check,
			List<String> repair, String disagreeing, List<String> applyOld) {
		this.up = migration.up();
		this.down = migration.isCrossTable() ? null : migration.down();
		this.key = key;
		this.copyBound = copyBound;
		this.verifyBound = verifyBound;
		this.countUpTo = key.bind(countUpTo);
		this.probe = probe;
		this.copyRange = variants(copyRange);
		this.verifyRange = variants(verifyRange);
		this.copy = variants(copy);
		this.check = variants(check);
		this.repair = repair.stream().map(this::variants).toList();
		this.disagreeing = variants(disagreeing);
		this.applyOld = applyOld.stream().map(this::variants).toList();
	}

	/**
	 * Return the statements for a migration.
	 * @param migration a validated migration
	 * @return its statements
	 */
	static BackfillStatements of(MigrationDefinition migration) {
		return migration.isCrossTable() ? new CrossTable(migration) : new SameTable(migration);
	}

	/**
	 * A key range: after {@code lo} (if any), up to {@code hi}, {@code n} keys at most.
	 * @param lo the range's exclusive lower bound as text, {@code null} for the first
	 * @param hi the range's inclusive upper bound as text
	 * @param n the most keys
	 * @return the range, with the parameters of its statements
	 */
	KeyBounds range(@Nullable String lo, String hi, int n) {
		MapSqlParameterSource parameters = new MapSqlParameterSource().addValue("n", n);
		this.key.bind(parameters, "lo", lo);
		this.key.bind(parameters, "hi", hi);
		return new KeyBounds(parameters, this.key.form(lo, hi));
	}

	/**
	 * The arguments of {@link #probe}: the key's columns.
	 * @param key a key as text
	 * @return the arguments
	 */
	Object[] probeArguments(String key) {
		return this.key.values(key);
	}

	/**
	 * Count and largest key of the next copy batch: source keys in the range, at most
	 * {@code :n}.
	 */
	String copyRange(KeyBounds range) {
		return this.copyRange[range.form()];
	}

	/**
	 * Count and largest key of the next verification batch: keys in the range on either
	 * side, at most {@code :n}.
	 */
	String verifyRange(KeyBounds range) {
		return this.verifyRange[range.form()];
	}

	/**
	 * Copies the range's source rows to the new side, leaving rows that already agree.
	 */
	String copy(KeyBounds range) {
		return this.copy[range.form()];
	}

	/**
	 * The statement that copies the range instead of {@link #copy(boolean)} when that one
	 * fails with a unique violation (rolled back to {@link #COPY_SAVEPOINT}), or
	 * {@code null} if the copy cannot fail so.
	 */
	abstract @Nullable String copyOnConflict(KeyBounds range);

	/** Counts the range's keys whose two sides disagree (different, missing or extra). */
	String check(KeyBounds range) {
		return this.check[range.form()];
	}

	/**
	 * Repairs the range: the statements to run in order, each returning the rows it
	 * changed.
	 */
	List<String> repair(KeyBounds range) {
		return this.repair.stream().map((statement) -> statement[range.form()]).toList();
	}

	/**
	 * The range's keys whose two sides disagree at the final check before the contract,
	 * as {@code zdm_key} (text) and {@code zdm_kind} ({@code different}, {@code missing}
	 * or {@code extra}), in key order. A same-table row agrees when its new columns are
	 * {@code up} of its old ones or its old columns {@code down} of its new ones, as the
	 * sync trigger leaves every row the application writes.
	 */
	String disagreeing(KeyBounds range) {
		return this.disagreeing[range.form()];
	}

	/**
	 * The range's source keys, as {@code zdm_key}, with an old column that holds a value
	 * that an {@code up} reading it maps to {@code NULL}, those old columns as
	 * {@code zdm_columns}: values that only the old columns keep, which the contract
	 * drops with them. For a migration inside one table whose {@code down} gives the old
	 * column back from the new ones, a value it gives back is kept (the one word of a
	 * name split in two, whose last name is {@code NULL}); else the value counts, as part
	 * of it may be lost ({@code 'INV-12x'} split into {@code 'INV'} and a number that is
	 * {@code NULL}).
	 * @param range the range
	 * @param readers for each old column an {@code up} reads, the new columns whose
	 * {@code up} reads it
	 */
	String unconverted(KeyBounds range, Map<SqlIdentifier, List<SqlIdentifier>> readers) {
		String columns = readers.entrySet()
			.stream()
			.map((entry) -> ", CASE WHEN " + lost(entry.getKey(), entry.getValue()) + " THEN "
					+ literal(entry.getKey().name()) + " END")
			.collect(Collectors.joining());
		String template = "SELECT " + this.key.text() + " AS zdm_key, concat_ws(', '" + columns
				+ ") AS zdm_columns FROM " + estimatedTable() + " WHERE " + this.key.range() + " AND ("
				+ unconvertedCondition(readers) + ") ORDER BY " + this.key.columns("");
		return this.key.bind(KeyColumns.rangeForm(template, range.form()));
	}

	/**
	 * The condition that a source row holds a value in an old column that an {@code up}
	 * reading it maps to {@code NULL} (and its {@code down}, if declared, does not give
	 * back), over the source table's own columns.
	 * @param readers for each old column an {@code up} reads, the new columns whose
	 * {@code up} reads it
	 * @return the condition, or {@code null} if no {@code up} reads a column
	 */
	@Nullable String unconvertedCondition(Map<SqlIdentifier, List<SqlIdentifier>> readers) {
		String any = readers.entrySet()
			.stream()
			.map((entry) -> lost(entry.getKey(), entry.getValue()))
			.collect(Collectors.joining(" OR "));
		return any.isEmpty() ? null : any;
	}

	private String lost(SqlIdentifier old, List<SqlIdentifier> readers) {
		String givenBack = (this.down != null && this.down.containsKey(old))
				? " AND (" + this.down.get(old) + ")::text IS DISTINCT FROM " + old.quoted() + "::text" : "";
		return "(" + old.quoted() + " IS NOT NULL AND ("
				+ readers.stream()
					.map((column) -> "(" + this.up.get(column) + ") IS NULL")
					.collect(Collectors.joining(" OR "))
				+ ")" + givenBack + ")";
	}

	private static String literal(String text) {
		return "'" + text.replace("'", "''") + "'";
	}

	/**
	 * Sets the new side of the range's disagreeing keys from the old side: the statements
	 * to run in order, each returning the rows it changed.
	 */
	List<String> applyOld(KeyBounds range) {
		return this.applyOld.stream().map((statement) -> statement[range.form()]).toList();
	}

	/**
	 * Vacuums the table the copy rewrites, or {@code null} if the copy leaves no dead
	 * rows behind.
	 */
	abstract @Nullable String vacuum();

	/** The table whose planner statistics estimate how many rows the backfill walks. */
	abstract String estimatedTable();

	/** The statement in each of its forms, indexed by {@link KeyBounds#form()}. */
	final String[] variants(String template) {
		String[] forms = new String[this.key.forms()];
		for (int form = 0; form < forms.length; form++) {
			forms[form] = this.key.bind(KeyColumns.rangeForm(template, form));
		}
		return forms;
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
			this(migration, migration.table().quoted(), KeyColumns.of(migration.key(), ""));
		}

		private SameTable(MigrationDefinition migration, String table, KeyColumns key) {
			super(migration, key, key.largest(table), key.largest(table),
					"SELECT count(*) FROM " + table + " WHERE " + key.row() + " <= :hi", key.probe(table),
					key.inRange(table), key.inRange(table), update(migration, table, key.range()),
					"SELECT count(*) FROM " + table + " WHERE " + key.range() + " AND " + disagrees(migration),
					List.of(update(migration, table, key.range())),
					"SELECT " + key.text() + " AS zdm_key, 'different' AS zdm_kind FROM " + table + " WHERE "
							+ key.range() + " AND NOT (" + agrees(migration) + ") ORDER BY " + key.columns(""),
					List.of("UPDATE " + table + " AS " + migration.table().table().quoted() + " SET "
							+ joined(migration.up(), (up) -> up.getKey().quoted() + " = (" + up.getValue() + ")")
							+ " WHERE " + key.range() + " AND NOT (" + agrees(migration) + ")"));
			this.table = table;
			this.vacuum = "/* zdm */ VACUUM " + table;
		}

		private static String update(MigrationDefinition migration, String table, String range) {
			String assignments = joined(migration.up(), (up) -> up.getKey().quoted() + " = (" + up.getValue() + ")");
			return "UPDATE " + table + " AS " + migration.table().table().quoted() + " SET " + assignments + " WHERE "
					+ range + " AND " + disagrees(migration);
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
		@Nullable String copyOnConflict(KeyBounds range) {
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
					Objects.requireNonNull(migration.targetTable()).quoted());
		}

		private CrossTable(MigrationDefinition migration, String source, String sourceName, String target) {
			this(migration, source, sourceName, target, KeyColumns.of(migration.key(), ""),
					KeyColumns.of(migration.targetKeys(), ""), KeyColumns.aliases(migration.key().size()));
		}

		private CrossTable(MigrationDefinition migration, String source, String sourceName, String target,
				KeyColumns key, KeyColumns targetKey, KeyColumns alias) {
			super(migration, key, key.largest(source), largestOfBoth(source, key, target, targetKey, alias),
					"SELECT count(*) FROM " + source + " WHERE " + key.row() + " <= :hi", key.probe(source),
					key.inRange(source), inRangeOfBoth(source, key, target, targetKey, alias),
					insertMissing(migration, source, sourceName, target),
					"SELECT count(*) FROM " + fullJoin(migration, source, key, target, targetKey, alias),
					repairs(migration, source, key, target, targetKey, alias),
					disagreeing(migration, source, key, target, targetKey, alias),
					repairs(migration, source, key, target, targetKey, alias));
			this.source = source;
			this.upsert = variants(upsert(migration, source, key, target, targetKey, alias));
		}

		/** The largest key on either side, as text. */
		private static String largestOfBoth(String source, KeyColumns key, String target, KeyColumns targetKey,
				KeyColumns alias) {
			// by the key's order, not max: see KeyColumns#largest
			return "SELECT (SELECT " + alias.text() + " AS zdm_text FROM ((SELECT " + key.aliased() + " FROM " + source
					+ " ORDER BY " + key.columns(" DESC") + " LIMIT 1) UNION ALL (SELECT " + targetKey.aliased()
					+ " FROM " + target + " ORDER BY " + targetKey.columns(" DESC") + " LIMIT 1)) AS bounds ORDER BY "
					+ alias.columns(" DESC") + " LIMIT 1)";
		}

		/** Count and largest key of the next batch: keys in the range on either side. */
		private static String inRangeOfBoth(String source, KeyColumns key, String target, KeyColumns targetKey,
				KeyColumns alias) {
			String keys = "(SELECT " + key.aliased() + " FROM " + source + " WHERE " + key.range() + " ORDER BY "
					+ key.columns("") + " LIMIT :n) UNION (SELECT " + targetKey.columns("") + " FROM " + target
					+ " WHERE " + targetKey.range() + " ORDER BY " + targetKey.columns("") + " LIMIT :n) ORDER BY "
					+ alias.columns("") + " LIMIT :n";
			return "WITH batch AS MATERIALIZED (" + keys + ") SELECT (SELECT count(*) FROM batch), (SELECT "
					+ alias.text() + " AS zdm_text FROM batch ORDER BY " + alias.columns(" DESC") + " LIMIT 1)";
		}

		/**
		 * Inserts the target rows of the range's source rows that have none, locking the
		 * source rows in key order. The source table keeps its own name (the {@code up}
		 * expressions may use it); the target range is repeated in the subquery so that
		 * the planner probes only the batch's part of the target's key index.
		 */
		private static String insertMissing(MigrationDefinition migration, String source, String sourceName,
				String target) {
			KeyColumns key = KeyColumns.of(migration.key(), sourceName + ".");
			KeyColumns targetKey = KeyColumns.of(migration.targetKeys(), "zdm_target.");
			String columns = joined(migration.up(), (up) -> up.getKey().quoted());
			String expressions = joined(migration.up(), (up) -> "(" + up.getValue() + ")");
			return "INSERT INTO " + target + " (" + KeyColumns.of(migration.targetKeys(), "").columns("") + ", "
					+ columns + ") SELECT " + key.columns("") + ", " + expressions + " FROM " + source + " WHERE "
					+ key.range() + " AND NOT EXISTS (SELECT 1 FROM " + target + " AS zdm_target WHERE "
					+ targetKey.range() + " AND " + targetKey.row() + " = " + key.row() + ") ORDER BY "
					+ key.columns("") + " FOR SHARE OF " + sourceName;
		}

		private static List<String> repairs(MigrationDefinition migration, String source, KeyColumns key, String target,
				KeyColumns targetKey, KeyColumns alias) {
			KeyColumns targetRow = KeyColumns.of(migration.targetKeys(), "zdm_target.");
			return List.of(upsert(migration, source, key, target, targetKey, alias),
					"DELETE FROM " + target + " AS zdm_target WHERE " + targetRow.range()
							+ " AND NOT EXISTS (SELECT 1 FROM " + source + " AS zdm_source WHERE "
							+ KeyColumns.of(migration.key(), "zdm_source.").row() + " = " + targetRow.row() + ")");
		}

		@Override
		String copyOnConflict(KeyBounds range) {
			return this.upsert[range.form()];
		}

		/**
		 * The source row's key and its target columns computed by {@code up}, as
		 * {@code zdm_key, zdm_v1, ...} ({@code zdm_key_1, zdm_key_2, ...} for a key of
		 * several columns).
		 */
		private static String derived(MigrationDefinition migration, String source, KeyColumns key, String lock) {
			StringBuilder select = new StringBuilder("SELECT " + key.aliased());
			int i = 0;
			for (String expression : migration.up().values()) {
				select.append(", (").append(expression).append(") AS zdm_v").append(++i);
			}
			return select + " FROM " + source + " WHERE " + key.range() + lock;
		}

		private static String values(MigrationDefinition migration, String alias) {
			StringBuilder values = new StringBuilder();
			for (int i = 1; i <= migration.up().size(); i++) {
				values.append((i > 1) ? ", " : "").append(alias).append(".zdm_v").append(i);
			}
			return values.toString();
		}

		private static String upsert(MigrationDefinition migration, String source, KeyColumns key, String target,
				KeyColumns targetKey, KeyColumns alias) {
			String columns = joined(migration.up(), (up) -> up.getKey().quoted());
			String targetColumns = joined(migration.up(), (up) -> "zdm_target." + up.getKey().quoted());
			String excluded = joined(migration.up(), (up) -> "EXCLUDED." + up.getKey().quoted());
			String assignments = joined(migration.up(),
					(up) -> up.getKey().quoted() + " = EXCLUDED." + up.getKey().quoted());
			// marked zdm's own, which the final check's list of writers and the
			// probes' busy checks leave out
			return "/* zdm */ WITH zdm_source AS ("
					+ derived(migration, source, key, " ORDER BY " + key.columns("") + " FOR SHARE") + ") INSERT INTO "
					+ target + " AS zdm_target (" + targetKey.columns("") + ", " + columns + ") SELECT "
					+ alias.columns("") + ", " + values(migration, "zdm_source") + " FROM zdm_source ON CONFLICT ("
					+ targetKey.columns("") + ") DO UPDATE SET " + assignments + " WHERE ROW(" + targetColumns
					+ ") IS DISTINCT FROM ROW(" + excluded + ")";
		}

		private static String disagreeing(MigrationDefinition migration, String source, KeyColumns key, String target,
				KeyColumns targetKey, KeyColumns alias) {
			String first = alias.first();
			return "SELECT " + alias.text() + " AS zdm_key, CASE WHEN zdm_target." + first
					+ " IS NULL THEN 'missing' WHEN zdm_source." + first
					+ " IS NULL THEN 'extra' ELSE 'different' END AS zdm_kind FROM "
					+ fullJoin(migration, source, key, target, targetKey, alias) + " ORDER BY " + alias.columns("");
		}

		/**
		 * The range's source rows computed by {@code up} joined with its target rows by
		 * key, keeping the keys missing, extra or different.
		 */
		private static String fullJoin(MigrationDefinition migration, String source, KeyColumns key, String target,
				KeyColumns targetKey, KeyColumns alias) {
			StringBuilder targetValues = new StringBuilder("SELECT " + targetKey.aliased());
			int i = 0;
			for (SqlIdentifier column : migration.up().keySet()) {
				targetValues.append(", ").append(column.quoted()).append(" AS zdm_v").append(++i);
			}
			targetValues.append(" FROM ").append(target).append(" WHERE ").append(targetKey.range());
			String first = alias.first();
			return "(" + derived(migration, source, key, "") + ") AS zdm_source FULL JOIN (" + targetValues
					+ ") AS zdm_target USING (" + alias.columns("") + ") WHERE zdm_source." + first + " IS NULL OR "
					+ "zdm_target." + first + " IS NULL OR ROW(" + values(migration, "zdm_source")
					+ ") IS DISTINCT FROM ROW(" + values(migration, "zdm_target") + ")";
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
	 * A key range's parameters and the form of the statements that fits it.
	 *
	 * @param parameters the parameters ({@code :lo}, {@code :hi}, {@code :n})
	 * @param form the form, see {@link KeyColumns#forms()}
	 */
	record KeyBounds(MapSqlParameterSource parameters, int form) {

	}

}
