package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * Checks that a migration's old and new columns agree for every row: each new column holds what its {@code up}
 * expression gives for the row's old columns (or, for a migration with {@code down} expressions only, each old
 * column holds what {@code down} gives for the new ones). While the new side is written it is derived through
 * {@code down} from what the application wrote, so {@code up} applied to that must give back what was written: an
 * {@code up} that disagrees with {@code down} shows up here. Every statement of the check is built in this class;
 * identifiers are quoted and the expressions are the migration's own, validated at start-up.
 * <p>
 * For a migration into another table, each source row's target row (matched by the target key) must hold what
 * {@code up} gives for the source row, no target row may be left without its source row, and, once existing rows
 * are expected to be copied, no source row may be without its target row.
 */
final class AgreementCheck {

	/** How many disagreeing rows a failure lists. */
	static final int ROWS_SHOWN = 10;

	private final JdbcTemplate jdbc;

	AgreementCheck(DataSource dataSource) {
		this.jdbc = new JdbcTemplate(dataSource);
	}

	/**
	 * Check one migration.
	 * @param migration the migration, validated against the catalog
	 * @param onlyDerivedRows whether to skip rows whose derived columns are all {@code null}, as existing rows are
	 * before the backfill reached them
	 * @return what disagrees, or {@code null} if every row agrees
	 */
	@Nullable String check(MigrationDefinition migration, boolean onlyDerivedRows) {
		if (migration.isCrossTable()) {
			return checkCrossTable(migration, onlyDerivedRows);
		}
		boolean forward = !migration.up().isEmpty();
		Map<SqlIdentifier, String> derivations = forward ? migration.up() : migration.down();
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
		String where = disagrees + (onlyDerivedRows ? " AND " + derivedPresent : "");
		String order = String.join(", ", key.stream().map(SqlIdentifier::quoted).toList());
		Long count = this.jdbc.queryForObject("SELECT count(*) FROM " + table + " WHERE " + where, Long.class);
		if (count == null || count == 0) {
			return null;
		}
		Long total = this.jdbc.queryForObject("SELECT count(*) FROM " + table, Long.class);
		List<Map<String, Object>> rows = this.jdbc.queryForList("SELECT " + select + " FROM " + table + " WHERE "
				+ where + ((order.isEmpty()) ? "" : " ORDER BY " + order) + " LIMIT " + ROWS_SHOWN);
		StringBuilder message = new StringBuilder();
		message.append(count).append(" of ").append(total).append(" rows of ").append(migration.table())
			.append(" disagree between old and new: ")
			.append(forward ? "a new column does not hold what up gives for the old columns"
					: "an old column does not hold what down gives for the new columns")
			.append((count > ROWS_SHOWN) ? " (first " + ROWS_SHOWN + " shown)" : "").append(':');
		for (Map<String, Object> row : rows) {
			message.append("\n  - ");
			StringJoiner keyText = new StringJoiner(", ");
			for (int k = 0; k < key.size(); k++) {
				keyText.add(key.get(k).name() + "=" + row.get("k" + k));
			}
			message.append(keyText).append(':');
			int d = 0;
			for (Map.Entry<SqlIdentifier, String> derivation : derivations.entrySet()) {
				Object actual = row.get("d" + d);
				Object expected = row.get("e" + d);
				if (actual == null ? expected != null : !actual.equals(expected)) {
					message.append(' ').append(derivation.getKey().name()).append('=').append(literal(actual))
						.append(" but ").append(forward ? "up" : "down").append(' ')
						.append(derivation.getValue()).append(" gives ").append(literal(expected)).append(';');
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

	private @Nullable String checkCrossTable(MigrationDefinition migration, boolean onlyCopiedRows) {
		TableName target = migration.targetTable();
		SqlIdentifier targetKey = migration.targetKey();
		if (migration.up().isEmpty() || target == null || targetKey == null || migration.key().size() != 1) {
			return null;
		}
		String key = migration.key().get(0).quoted();
		StringJoiner derived = new StringJoiner(", ", "SELECT " + key + " AS zdm_key, ",
				" FROM " + migration.table().quoted());
		StringJoiner stored = new StringJoiner(", ", "SELECT " + targetKey.quoted() + " AS zdm_key, ",
				" FROM " + target.quoted());
		StringJoiner expected = new StringJoiner(", ");
		StringJoiner actual = new StringJoiner(", ");
		StringJoiner select = new StringJoiner(", ", "SELECT zdm_key::text AS k, zdm_source.zdm_key IS NOT NULL AS "
				+ "has_source, zdm_target.zdm_key IS NOT NULL AS has_target, ", "");
		int i = 0;
		for (Map.Entry<SqlIdentifier, String> up : migration.up().entrySet()) {
			derived.add("(" + up.getValue() + ") AS zdm_v" + i);
			stored.add(up.getKey().quoted() + " AS zdm_v" + i);
			expected.add("zdm_source.zdm_v" + i);
			actual.add("zdm_target.zdm_v" + i);
			select.add("zdm_source.zdm_v" + i + "::text AS e" + i).add("zdm_target.zdm_v" + i + "::text AS d" + i);
			i++;
		}
		String from = " FROM (" + derived + ") AS zdm_source FULL JOIN (" + stored
				+ ") AS zdm_target USING (zdm_key) WHERE zdm_source.zdm_key IS NULL OR "
				+ (onlyCopiedRows ? "" : "zdm_target.zdm_key IS NULL OR ") + "(zdm_target.zdm_key IS NOT NULL AND ROW("
				+ expected + ") IS DISTINCT FROM ROW(" + actual + "))";
		Long count = this.jdbc.queryForObject("SELECT count(*)" + from, Long.class);
		if (count == null || count == 0) {
			return null;
		}
		List<Map<String, Object>> rows = this.jdbc
			.queryForList(select + from + " ORDER BY zdm_key LIMIT " + ROWS_SHOWN);
		StringBuilder message = new StringBuilder();
		message.append(count).append(" rows of ").append(migration.table()).append(" and ").append(target)
			.append(" disagree between old and new: a target row must hold what up gives for its source row")
			.append((count > ROWS_SHOWN) ? " (first " + ROWS_SHOWN + " shown)" : "").append(':');
		for (Map<String, Object> row : rows) {
			message.append("\n  - ").append(migration.key().get(0).name()).append('=').append(row.get("k"))
				.append(':');
			if (!Boolean.TRUE.equals(row.get("has_source"))) {
				message.append(" a row of ").append(target).append(" without its row of ").append(migration.table());
				continue;
			}
			if (!Boolean.TRUE.equals(row.get("has_target"))) {
				message.append(" no row of ").append(target).append(" (").append(targetKey.name()).append(')');
				continue;
			}
			int d = 0;
			for (Map.Entry<SqlIdentifier, String> up : migration.up().entrySet()) {
				Object value = row.get("d" + d);
				Object expectedValue = row.get("e" + d);
				if (value == null ? expectedValue != null : !value.equals(expectedValue)) {
					message.append(' ').append(up.getKey().name()).append('=').append(literal(value))
						.append(" but up ").append(up.getValue()).append(" gives ").append(literal(expectedValue))
						.append(';');
				}
				d++;
			}
		}
		return message.toString();
	}

	private static String literal(@Nullable Object value) {
		return (value != null) ? "'" + value + "'" : "null";
	}

}
