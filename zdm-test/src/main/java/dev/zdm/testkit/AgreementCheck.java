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

/**
 * Checks that a migration's old and new columns agree for every row: each new column holds what its {@code up}
 * expression gives for the row's old columns (or, for a migration with {@code down} expressions only, each old
 * column holds what {@code down} gives for the new ones). While the new side is written it is derived through
 * {@code down} from what the application wrote, so {@code up} applied to that must give back what was written: an
 * {@code up} that disagrees with {@code down} shows up here. Every statement of the check is built in this class;
 * identifiers are quoted and the expressions are the migration's own, validated at start-up.
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

	private static String literal(@Nullable Object value) {
		return (value != null) ? "'" + value + "'" : "null";
	}

}
