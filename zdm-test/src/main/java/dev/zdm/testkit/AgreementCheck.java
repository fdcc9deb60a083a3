package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.dualwrite.SameTableSyncTrigger;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * Checks that a migration's old and new columns agree for every row: each new column
 * holds what its {@code up} expression gives for the row's old columns (or, for a
 * migration with {@code down} expressions only, each old column holds what {@code down}
 * gives for the new ones). While the new side is written it is derived through
 * {@code down} from what the application wrote, so {@code up} applied to that must give
 * back what was written: an {@code up} that disagrees with {@code down} shows up here.
 * Every statement of the check is built in this class; identifiers are quoted and the
 * expressions are the migration's own, validated at start-up.
 * <p>
 * For a cross-table migration the new columns are in the target table: each source row
 * and the target row that holds its key are matched, and they agree when the target row
 * holds what {@code up} gives for the source row. A target row with no source row is
 * extra; a source row with no target row is missing, which is only a disagreement once
 * the backfill copied every pre-existing row.
 */
final class AgreementCheck {

	/** How many disagreeing rows a failure lists. */
	static final int ROWS_SHOWN = 10;

	private final JdbcTemplate jdbc;

	private final TransactionTemplate snapshot;

	AgreementCheck(DataSource dataSource) {
		this.jdbc = new JdbcTemplate(dataSource);
		this.snapshot = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		this.snapshot.setIsolationLevel(TransactionDefinition.ISOLATION_REPEATABLE_READ);
		this.snapshot.setReadOnly(true);
	}

	/**
	 * Check one migration.
	 * @param migration the migration, validated against the catalog
	 * @param onlyDerivedRows whether to skip rows whose derived columns are all
	 * {@code null}, as existing rows are before the backfill reached them; for a
	 * cross-table migration, whether to skip source rows that have no target row
	 * @return what disagrees, or {@code null} if every row agrees
	 */
	@Nullable String check(MigrationDefinition migration, boolean onlyDerivedRows) {
		return check(migration, onlyDerivedRows, null);
	}

	/**
	 * Check one migration, with the rows written since a step began checked whatever
	 * their derived columns hold.
	 * @param migration the migration, validated against the catalog
	 * @param onlyDerivedRows whether to skip rows whose derived columns are all
	 * {@code null}, as existing rows are before the backfill reached them, unless they
	 * were written since {@code step} began; for a cross-table migration, whether to skip
	 * source rows that have no target row
	 * @param step where the step began, from {@link #step(List)}, or {@code null}
	 * @return what disagrees, or {@code null} if every row agrees
	 */
	@Nullable String check(MigrationDefinition migration, boolean onlyDerivedRows, @Nullable Step step) {
		// the counts and the rows listed come from one snapshot, so that they agree while
		// the application (or a backfill's repairs) keeps writing
		return this.snapshot.execute((status) -> checkInSnapshot(migration, onlyDerivedRows, step));
	}

	/**
	 * Return where a step begins, in one snapshot: the current moment as the database
	 * orders writes (the first transaction id not yet started, so that a row written by a
	 * later transaction has a newer {@code xmin}), and for each same-table migration that
	 * the sync trigger does not keep, what each of its derivations gives for each row
	 * now.
	 * @param migrations the migrations the step walks
	 * @return where the step begins, for
	 * {@link #check(MigrationDefinition, boolean, Step)}
	 */
	Step step(List<MigrationDefinition> migrations) {
		return Objects.requireNonNull(this.snapshot.execute((status) -> {
			String moment = Objects.requireNonNull(this.jdbc.queryForObject(
					"SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296)::text", String.class));
			Map<String, List<List<String>>> derived = new HashMap<>();
			for (MigrationDefinition migration : migrations) {
				List<String> expressions = List.copyOf(derivations(migration).values());
				if (migration.isCrossTable() || SameTableSyncTrigger.appliesTo(migration) || expressions.isEmpty()) {
					continue;
				}
				StringJoiner select = new StringJoiner(", ");
				List<List<String>> columns = new ArrayList<>();
				for (String expression : expressions) {
					select.add(derivedRow(migration, expression));
					columns.add(new ArrayList<>());
				}
				this.jdbc.query("SELECT " + select + " FROM " + migration.table().quoted(), (rs) -> {
					for (int i = 0; i < columns.size(); i++) {
						columns.get(i).add(rs.getString(i + 1));
					}
				});
				derived.put(migration.id(), columns);
			}
			return new Step(moment, derived);
		}));
	}

	/**
	 * Where a step began.
	 *
	 * @param moment the first transaction id not yet started then
	 * @param derived by migration and derivation (in declaration order), each row's key
	 * and what the derivation gave for it, as the text of a row value
	 */
	record Step(String moment, Map<String, List<List<String>>> derived) {

	}

	private static Map<SqlIdentifier, String> derivations(MigrationDefinition migration) {
		return !migration.up().isEmpty() ? migration.up() : migration.down();
	}

	/**
	 * Return a row's key and what one of the migration's derivations gives for it, as the
	 * text of one row value.
	 */
	private static String derivedRow(MigrationDefinition migration, String expression) {
		StringJoiner row = new StringJoiner(", ", "ROW(", ")::text");
		migration.key().forEach((column) -> row.add(column.quoted()));
		row.add("(" + expression + ")");
		return row.toString();
	}

	private @Nullable String checkInSnapshot(MigrationDefinition migration, boolean onlyDerivedRows,
			@Nullable Step step) {
		if (migration.isCrossTable()) {
			return checkCrossTable(migration, onlyDerivedRows);
		}
		boolean forward = !migration.up().isEmpty();
		Map<SqlIdentifier, String> derivations = derivations(migration);
		if (derivations.isEmpty()) {
			return null;
		}
		List<SqlIdentifier> sources = new ArrayList<>(forward ? migration.down().keySet() : migration.up().keySet());
		String table = migration.table().quoted();
		StringJoiner disagrees = new StringJoiner(" OR ", "(", ")");
		StringJoiner derivedPresent = new StringJoiner(" OR ", "(", ")");
		StringJoiner select = new StringJoiner(", ");
		List<SqlIdentifier> key = migration.key();
		for (int i = 0; i < key.size(); i++) {
			select.add(key.get(i).quoted() + "::text AS k" + i);
		}
		int i = 0;
		for (Map.Entry<SqlIdentifier, String> derivation : derivations.entrySet()) {
			String column = derivation.getKey().quoted();
			disagrees.add(column + " IS DISTINCT FROM (" + derivation.getValue() + ")");
			derivedPresent.add(column + " IS NOT NULL");
			select.add(column + "::text AS d" + i).add("(" + derivation.getValue() + ")::text AS e" + i);
			i++;
		}
		for (int s = 0; s < sources.size(); s++) {
			select.add(sources.get(s).quoted() + "::text AS s" + s);
		}
		// a row written since the step began went through the write path, which must
		// derive its new columns however it leaves them (a Schema.BOTH insert that
		// forgets them leaves them null, as an existing row's are). The sync trigger
		// derives them on every insert and on every update of the old columns, so there
		// a written row whose new columns are all null is an existing row whose other
		// columns were updated, which waits for the backfill as every existing row does.
		// Without it, each new column of such a row is told from one whose old columns
		// were written without it by what its derivation gave for the row when the step
		// began: a new column whose old columns are as they were then waits for the
		// backfill, even when the write set another new column (a partial update)
		List<List<String>> derivedAtStart = (step != null) ? step.derived().get(migration.id()) : null;
		String where;
		Object[] parameters;
		if (!onlyDerivedRows) {
			where = disagrees.toString();
			parameters = new Object[0];
		}
		else if (derivedAtStart == null) {
			where = disagrees + " AND " + derivedPresent;
			parameters = new Object[0];
		}
		else {
			StringJoiner anyColumn = new StringJoiner(" OR ", "(", ")");
			List<Object> values = new ArrayList<>();
			int d = 0;
			for (Map.Entry<SqlIdentifier, String> derivation : derivations.entrySet()) {
				String column = derivation.getKey().quoted();
				anyColumn.add("(" + column + " IS DISTINCT FROM (" + derivation.getValue() + ") AND (" + column
						+ " IS NOT NULL OR (age(xmin) <= age(?::xid) AND "
						+ derivedRow(migration, derivation.getValue()) + " <> ALL(?::text[]))))");
				values.add(step.moment());
				values.add(derivedAtStart.get(d).toArray(String[]::new));
				d++;
			}
			where = anyColumn.toString();
			parameters = values.toArray();
		}
		String order = String.join(", ", key.stream().map(SqlIdentifier::quoted).toList());
		Long count = this.jdbc.queryForObject("SELECT count(*) FROM " + table + " WHERE " + where, Long.class,
				parameters);
		if (count == null || count == 0) {
			return null;
		}
		Long total = this.jdbc.queryForObject("SELECT count(*) FROM " + table, Long.class);
		List<Map<String, Object>> rows = this.jdbc.queryForList("SELECT " + select + " FROM " + table + " WHERE "
				+ where + ((order.isEmpty()) ? "" : " ORDER BY " + order) + " LIMIT " + ROWS_SHOWN, parameters);
		StringBuilder message = new StringBuilder();
		message.append(count)
			.append(" of ")
			.append(total)
			.append(" rows of ")
			.append(migration.table())
			.append(" disagree between old and new: ")
			.append(forward ? "a new column does not hold what up gives for the old columns"
					: "an old column does not hold what down gives for the new columns")
			.append((count > ROWS_SHOWN) ? " (first " + ROWS_SHOWN + " shown)" : "")
			.append(':');
		for (Map<String, Object> row : rows) {
			message.append("\n  - ");
			message.append(keyText(key, row, "k")).append(':');
			int d = 0;
			for (Map.Entry<SqlIdentifier, String> derivation : derivations.entrySet()) {
				Object actual = row.get("d" + d);
				Object expected = row.get("e" + d);
				if (actual == null ? expected != null : !actual.equals(expected)) {
					message.append(' ')
						.append(derivation.getKey().name())
						.append('=')
						.append(literal(actual))
						.append(" but ")
						.append(forward ? "up" : "down")
						.append(' ')
						.append(derivation.getValue())
						.append(" gives ")
						.append(literal(expected))
						.append(';');
				}
				d++;
			}
			if (!sources.isEmpty()) {
				StringJoiner sourceText = new StringJoiner(", ", " (", ")");
				for (int s = 0; s < sources.size(); s++) {
					sourceText.add(sources.get(s).name() + "=" + literal(row.get("s" + s)));
				}
				message.append(sourceText);
			}
		}
		return message.toString();
	}

	/**
	 * Check a cross-table migration: source rows against target rows, matched by key, in
	 * both directions.
	 * @param migration the migration, validated against the catalog, with a target table
	 * @param onlyTargetRows whether to check only the rows the write path wrote into the
	 * target table (extra and different rows), as before the backfill copied the
	 * pre-existing rows; otherwise missing rows count too
	 * @return what disagrees, or {@code null} if every row agrees
	 */
	private @Nullable String checkCrossTable(MigrationDefinition migration, boolean onlyTargetRows) {
		Map<SqlIdentifier, String> up = migration.up();
		TableName targetTable = migration.targetTable();
		List<SqlIdentifier> key = migration.key();
		List<SqlIdentifier> targetKey = migration.targetKeys();
		if (up.isEmpty() || targetTable == null || key.isEmpty() || targetKey.size() != key.size()) {
			return null;
		}
		List<SqlIdentifier> sources = new ArrayList<>(migration.down().keySet());
		// each side's key columns as zdm_k0, zdm_k1, ..., and a marker of the row's
		// presence
		StringJoiner sourceSelect = new StringJoiner(", ", "SELECT ", " FROM " + migration.table().quoted());
		StringJoiner targetSelect = new StringJoiner(", ", "SELECT ", " FROM " + targetTable.quoted());
		sourceSelect.add("true AS zdm_present");
		targetSelect.add("true AS zdm_present");
		StringJoiner on = new StringJoiner(" AND ");
		StringJoiner order = new StringJoiner(", ");
		StringJoiner select = new StringJoiner(", ");
		for (int k = 0; k < key.size(); k++) {
			sourceSelect.add(key.get(k).quoted() + " AS zdm_k" + k);
			targetSelect.add(targetKey.get(k).quoted() + " AS zdm_k" + k);
			on.add("zdm_target.zdm_k" + k + " = zdm_source.zdm_k" + k);
			order.add("coalesce(zdm_source.zdm_k" + k + ", zdm_target.zdm_k" + k + ")");
			select.add("zdm_source.zdm_k" + k + "::text AS sk" + k).add("zdm_target.zdm_k" + k + "::text AS tk" + k);
		}
		select.add("zdm_source.zdm_present AS sp").add("zdm_target.zdm_present AS tp");
		StringJoiner expected = new StringJoiner(", ", "ROW(", ")");
		StringJoiner actual = new StringJoiner(", ", "ROW(", ")");
		int i = 0;
		for (Map.Entry<SqlIdentifier, String> derivation : up.entrySet()) {
			sourceSelect.add("(" + derivation.getValue() + ") AS zdm_e" + i);
			targetSelect.add(derivation.getKey().quoted() + " AS zdm_d" + i);
			expected.add("zdm_source.zdm_e" + i);
			actual.add("zdm_target.zdm_d" + i);
			select.add("zdm_source.zdm_e" + i + "::text AS e" + i).add("zdm_target.zdm_d" + i + "::text AS d" + i);
			i++;
		}
		for (int s = 0; s < sources.size(); s++) {
			sourceSelect.add(sources.get(s).quoted() + " AS zdm_s" + s);
			select.add("zdm_source.zdm_s" + s + "::text AS s" + s);
		}
		String joined = " FROM (" + sourceSelect + ") AS zdm_source FULL JOIN (" + targetSelect + ") AS zdm_target ON "
				+ on;
		String missing = "zdm_target.zdm_present IS NULL";
		String extra = "zdm_source.zdm_present IS NULL";
		String different = "(zdm_source.zdm_present AND zdm_target.zdm_present AND " + expected + " IS DISTINCT FROM "
				+ actual + ")";
		String where = (onlyTargetRows ? "" : missing + " OR ") + extra + " OR " + different;
		Map<String, Object> counts = this.jdbc.queryForMap("SELECT count(*) FILTER (WHERE " + missing
				+ ") AS missing, count(*) FILTER (WHERE " + extra + ") AS extra, count(*) FILTER (WHERE " + different
				+ ") AS different, count(zdm_source.zdm_present) AS sources, count(zdm_target.zdm_present) AS targets"
				+ joined);
		long missingCount = onlyTargetRows ? 0 : ((Number) counts.get("missing")).longValue();
		long extraCount = ((Number) counts.get("extra")).longValue();
		long differentCount = ((Number) counts.get("different")).longValue();
		long count = missingCount + extraCount + differentCount;
		if (count == 0) {
			return null;
		}
		List<Map<String, Object>> rows = this.jdbc.queryForList(
				"SELECT " + select + joined + " WHERE " + where + " ORDER BY " + order + " LIMIT " + ROWS_SHOWN);
		StringBuilder message = new StringBuilder();
		message.append(count)
			.append(" rows disagree between ")
			.append(migration.table())
			.append(" (")
			.append(counts.get("sources"))
			.append(" rows) and ")
			.append(targetTable)
			.append(" (")
			.append(counts.get("targets"))
			.append(" rows): ");
		StringJoiner kinds = new StringJoiner(", ");
		if (!onlyTargetRows) {
			kinds.add(missingCount + " missing in " + targetTable);
		}
		kinds.add(extraCount + " extra in " + targetTable + " (no source row)");
		kinds.add(differentCount + " where a target column does not hold what up gives for the source row");
		message.append(kinds).append((count > ROWS_SHOWN) ? " (first " + ROWS_SHOWN + " shown)" : "").append(':');
		for (Map<String, Object> row : rows) {
			message.append("\n  - ");
			if (row.get("tp") == null) {
				message.append(keyText(key, row, "sk"))
					.append(": no row in ")
					.append(targetTable)
					.append(" where up gives");
				int d = 0;
				for (Map.Entry<SqlIdentifier, String> derivation : up.entrySet()) {
					message.append(' ')
						.append(derivation.getKey().name())
						.append('=')
						.append(literal(row.get("e" + d)));
					d++;
				}
				message.append(';');
			}
			else if (row.get("sp") == null) {
				message.append(keyText(targetKey, row, "tk"))
					.append(": extra row in ")
					.append(targetTable)
					.append(", no row in ")
					.append(migration.table())
					.append(" has this key:");
				int d = 0;
				for (Map.Entry<SqlIdentifier, String> derivation : up.entrySet()) {
					message.append(' ')
						.append(derivation.getKey().name())
						.append('=')
						.append(literal(row.get("d" + d)));
					d++;
				}
				message.append(';');
			}
			else {
				message.append(keyText(key, row, "sk")).append(':');
				int d = 0;
				for (Map.Entry<SqlIdentifier, String> derivation : up.entrySet()) {
					Object value = row.get("d" + d);
					Object derived = row.get("e" + d);
					if (value == null ? derived != null : !value.equals(derived)) {
						message.append(' ')
							.append(derivation.getKey().name())
							.append('=')
							.append(literal(value))
							.append(" but up ")
							.append(derivation.getValue())
							.append(" gives ")
							.append(literal(derived))
							.append(';');
					}
					d++;
				}
			}
			if (row.get("sp") != null && !sources.isEmpty()) {
				StringJoiner sourceText = new StringJoiner(", ", " (", ")");
				for (int s = 0; s < sources.size(); s++) {
					sourceText.add(sources.get(s).name() + "=" + literal(row.get("s" + s)));
				}
				message.append(sourceText);
			}
		}
		return message.toString();
	}

	/**
	 * Render a row's key as {@code name=value}, one per key column.
	 * @param columns the key's columns
	 * @param row the row, with the key's values as {@code prefix0}, {@code prefix1}, ...
	 * @param prefix the prefix of the key's values in the row
	 * @return the key as text
	 */
	private static String keyText(List<SqlIdentifier> columns, Map<String, Object> row, String prefix) {
		StringJoiner text = new StringJoiner(", ");
		for (int k = 0; k < columns.size(); k++) {
			text.add(columns.get(k).name() + "=" + row.get(prefix + k));
		}
		return text.toString();
	}

	private static String literal(@Nullable Object value) {
		return (value != null) ? "'" + value + "'" : "null";
	}

}
