package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;
import dev.zdm.testkit.Conversion.Direction;
import dev.zdm.testkit.Conversion.Example;

/**
 * Checks a migration's {@code up} and {@code down} expressions by example and by round
 * trip, evaluated by PostgreSQL in read-only statements: each expression is evaluated
 * over a row built from the example's values (or from the table's rows, or from values
 * generated from the column types) and cast to the column's type, as the sync trigger and
 * the backfill assign it. Nothing is written. Every statement of the check is built in
 * this class; identifiers are quoted, the expressions are the migration's own (validated
 * at start-up), the types come from the catalog and every value is a bind parameter.
 */
final class ConversionCheck {

	private static final int ROWS_SHOWN = 10;

	private static final String COLUMN_TYPES = """
			SELECT a.attname, format_type(a.atttypid, a.atttypmod)
			FROM pg_attribute a
			WHERE a.attrelid = CAST(? AS regclass) AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum
			""";

	private static final Pattern NUMERIC = Pattern.compile("numeric\\((\\d+),(\\d+)\\)");

	private static final Pattern SIZED_TEXT = Pattern.compile("(character varying|character)\\((\\d+)\\)");

	private final JdbcTemplate jdbc;

	private final TransactionTemplate readOnly;

	ConversionCheck(DataSource dataSource) {
		this.jdbc = new JdbcTemplate(dataSource);
		this.readOnly = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		this.readOnly.setReadOnly(true);
	}

	/**
	 * Check a migration's conversion.
	 * @param migration the migration, after its expand DDL ran
	 * @param conversion the examples
	 * @return what PostgreSQL does not confirm, or {@code null} if everything holds
	 */
	@Nullable String check(MigrationDefinition migration, Conversion conversion) {
		Sides sides = new Sides(migration, columnTypes(migration.table()),
				columnTypes(migration.isCrossTable() ? requiredTarget(migration) : migration.table()));
		List<String> problems = new ArrayList<>();
		checkExamples(sides, conversion, problems);
		if (!migration.up().isEmpty() && !migration.down().isEmpty()) {
			if (conversion.isLossy() && migration.isCrossTable()) {
				// a lossy cross-table conversion: up over the target row is not defined
			}
			else {
				checkRoundTripOfRows(sides, conversion.isLossy(), problems);
				checkRoundTripOfGeneratedValues(sides, conversion.isLossy(), problems);
			}
		}
		return problems.isEmpty() ? null : String.join("\n", problems);
	}

	/**
	 * Check what the application needs of a migration's {@code up} and {@code down} from
	 * {@code read-new} on, over the table's rows alone: {@code up(down(up(x))) = up(x)},
	 * so that a row written through the new columns reads back as written once its old
	 * columns are derived from them, and the verification finds it agreeing. A
	 * cross-table migration, or one without both expressions, is not checked.
	 * @param migration the migration, after its expand DDL ran
	 * @return what PostgreSQL does not confirm, or {@code null} if it holds
	 */
	@Nullable String checkRows(MigrationDefinition migration) {
		if (migration.isCrossTable() || migration.up().isEmpty() || migration.down().isEmpty()) {
			return null;
		}
		Sides sides = new Sides(migration, columnTypes(migration.table()), columnTypes(migration.table()));
		List<String> problems = new ArrayList<>();
		checkRoundTripOfRows(sides, true, problems);
		return problems.isEmpty() ? null : String.join("\n", problems);
	}

	private void checkExamples(Sides sides, Conversion conversion, List<String> problems) {
		List<String> failed = new ArrayList<>();
		for (Example example : conversion.examples()) {
			boolean up = example.direction() == Direction.UP;
			Map<SqlIdentifier, String> expressions = up ? sides.migration.up() : sides.migration.down();
			Map<String, String> givenTypes = up ? sides.oldTypes : sides.newTypes;
			Map<String, String> expectedTypes = up ? sides.newTypes : sides.oldTypes;
			String name = up ? "up" : "down";
			String given = describe(example.given());
			int before = failed.size();
			for (String column : example.given().keySet()) {
				if (!givenTypes.containsKey(column)) {
					failed.add("  - " + name + " example " + given + ": " + column + " is not a column of "
							+ (up ? sides.oldTable() : sides.newTable()) + "; its columns are " + givenTypes.keySet());
				}
			}
			List<String> expected = new ArrayList<>();
			for (String column : example.expected().keySet()) {
				if (expression(expressions, column) == null) {
					failed.add("  - " + name + " example " + given + ": " + name + " does not derive " + column
							+ "; it derives " + expressions.keySet().stream().map(SqlIdentifier::name).toList());
				}
				else {
					expected.add(column);
				}
			}
			if (failed.size() > before || expected.isEmpty()) {
				continue;
			}
			List<Object> parameters = new ArrayList<>();
			String row = valuesRow(givenTypes, example.given(), parameters, up ? sides.oldAlias() : sides.newAlias());
			StringJoiner select = new StringJoiner(", ");
			for (int i = 0; i < expected.size(); i++) {
				String column = expected.get(i);
				String type = expectedTypes.get(column);
				String actual = "CAST((" + expression(expressions, column) + ") AS " + type + ")";
				String wanted = "CAST(CAST(? AS text) AS " + type + ")";
				select.add(actual + "::text AS a" + i)
					.add(wanted + "::text AS e" + i)
					.add(same(actual, wanted, type) + " AS ok" + i);
			}
			List<Object> all = new ArrayList<>();
			for (String column : expected) {
				all.add(example.expected().get(column));
				all.add(example.expected().get(column));
			}
			// the SELECT list's parameters come before the FROM's
			all.addAll(parameters);
			String sql = "SELECT " + select + " FROM " + row;
			try {
				Map<String, Object> result = query(sql, all.toArray()).get(0);
				for (int i = 0; i < expected.size(); i++) {
					if (!Boolean.TRUE.equals(result.get("ok" + i))) {
						String column = expected.get(i);
						failed.add("  - " + name + " " + column + " = " + expression(expressions, column) + " for "
								+ given + ": expected " + column + "=" + literal(result.get("e" + i))
								+ ", PostgreSQL gives " + literal(result.get("a" + i)));
					}
				}
			}
			catch (DataAccessException ex) {
				failed.add("  - " + name + " for " + given + ": PostgreSQL fails: " + message(ex));
			}
		}
		if (!failed.isEmpty()) {
			problems.add("examples that PostgreSQL's evaluation of " + "up and down does not confirm:");
			problems.addAll(failed);
		}
	}

	private void checkRoundTripOfRows(Sides sides, boolean lossy, List<String> problems) {
		List<SqlIdentifier> key = sides.migration.key();
		List<String> carried = new ArrayList<>();
		for (int k = 0; k < key.size(); k++) {
			carried.add(key.get(k).quoted() + " AS zdm_k" + k);
		}
		RoundTrip trip = roundTrip(sides, lossy, sides.migration.table().quoted() + " AS " + sides.oldAlias(), carried);
		String order = String.join(", ", range("zdm_k", key.size()));
		String sql = "SELECT *, count(*) OVER () AS zdm_count FROM " + trip.from + " WHERE NOT (" + trip.holds + ")"
				+ (order.isEmpty() ? "" : " ORDER BY " + order) + " LIMIT " + ROWS_SHOWN;
		try {
			List<Map<String, Object>> rows = query(sql);
			if (rows.isEmpty()) {
				return;
			}
			Long total = this.jdbc.queryForObject("SELECT count(*) FROM " + sides.migration.table().quoted(),
					Long.class);
			problems.add("the round trip " + trip.name + " fails for " + rows.get(0).get("zdm_count") + " of " + total
					+ " rows of " + sides.migration.table() + ":");
			for (Map<String, Object> row : rows) {
				StringJoiner keyText = new StringJoiner(", ");
				for (int k = 0; k < key.size(); k++) {
					keyText.add(key.get(k).name() + "=" + row.get("zdm_k" + k));
				}
				problems.add("  - " + keyText + ": " + trip.describe(row));
			}
		}
		catch (DataAccessException ex) {
			problems.add("the round trip " + trip.name + " fails on the rows of " + sides.migration.table()
					+ ": PostgreSQL fails: " + message(ex));
		}
	}

	private void checkRoundTripOfGeneratedValues(Sides sides, boolean lossy, List<String> problems) {
		Map<String, @Nullable String> base = baseRow(sides);
		List<String> varied = sides.migration.down().keySet().stream().map(SqlIdentifier::name).toList();
		for (String column : varied) {
			String type = sides.oldTypes.get(column);
			if (type != null && base.get(column) == null) {
				List<String> typical = generatedValues(type);
				base.put(column, typical.isEmpty() ? null : typical.get(0));
			}
		}
		List<String> failed = new ArrayList<>();
		RoundTrip described = null;
		for (String column : varied) {
			String type = sides.oldTypes.get(column);
			if (type == null) {
				continue;
			}
			List<@Nullable String> values = new ArrayList<>(generatedValues(type));
			values.add(0, null);
			for (String value : values) {
				Map<String, @Nullable String> row = new LinkedHashMap<>(base);
				row.put(column, value);
				List<Object> parameters = new ArrayList<>();
				String from = valuesRow(sides.oldTypes, row, parameters, sides.oldAlias());
				RoundTrip trip = roundTrip(sides, lossy, from, List.of());
				described = trip;
				try {
					List<Map<String, Object>> result = query(
							"SELECT * FROM " + trip.from + " WHERE NOT (" + trip.holds + ")", parameters.toArray());
					if (!result.isEmpty()) {
						failed.add("  - " + trip.describe(result.get(0)));
					}
				}
				catch (DataAccessException ex) {
					failed.add("  - " + column + "=" + literal(value) + ": PostgreSQL fails: " + message(ex));
				}
			}
		}
		if (!failed.isEmpty() && described != null) {
			problems.add("the round trip " + described.name + " fails for values of the old columns' types"
					+ " (other columns as in " + (sides.hasRows ? "the first row of the table" : "a typical row")
					+ "):");
			problems.addAll(failed.subList(0, Math.min(failed.size(), ROWS_SHOWN)));
			if (failed.size() > ROWS_SHOWN) {
				problems.add("  (" + (failed.size() - ROWS_SHOWN) + " more)");
			}
		}
	}

	/**
	 * Build the round trip over a source of old rows: the new columns from {@code up},
	 * then the old columns from {@code down}, compared with the old values (or, lossy,
	 * {@code up} once more, compared with the first new values).
	 */
	private RoundTrip roundTrip(Sides sides, boolean lossy, String source, List<String> carried) {
		MigrationDefinition migration = sides.migration;
		List<String> oldColumns = migration.down().keySet().stream().map(SqlIdentifier::name).toList();
		List<String> newColumns = migration.up().keySet().stream().map(SqlIdentifier::name).toList();
		List<String> carriedNames = new ArrayList<>();
		for (String carry : carried) {
			carriedNames.add(carry.substring(carry.lastIndexOf(' ') + 1));
		}
		// 1: the new columns from up, the old values kept as zdm_x<i>
		List<String> first = new ArrayList<>(carried);
		for (int i = 0; i < oldColumns.size(); i++) {
			first.add(quote(oldColumns.get(i)) + " AS zdm_x" + i);
		}
		if (!migration.isCrossTable()) {
			sides.oldTypes.keySet()
				.stream()
				.filter((column) -> !newColumns.contains(column))
				.forEach((column) -> first.add(quote(column)));
		}
		for (String column : newColumns) {
			first.add("CAST((" + expression(migration.up(), column) + ") AS " + sides.newTypes.get(column) + ") AS "
					+ quote(column));
		}
		String afterUp = "(SELECT " + String.join(", ", first) + " FROM " + source + ") AS " + sides.newAlias();
		// 2: the old columns from down, as zdm_r<i> (or, lossy, in place)
		List<String> second = new ArrayList<>(carriedNames);
		second.addAll(range("zdm_x", oldColumns.size()));
		for (int j = 0; j < newColumns.size(); j++) {
			second.add(quote(newColumns.get(j)) + " AS zdm_u" + j);
		}
		if (!migration.isCrossTable()) {
			// down sees the row as up left it, without the old columns it derives
			sides.oldTypes.keySet()
				.stream()
				.filter((column) -> !oldColumns.contains(column))
				.forEach((column) -> second.add(quote(column)));
		}
		if (!lossy) {
			for (int i = 0; i < oldColumns.size(); i++) {
				second.add("CAST((" + expression(migration.down(), oldColumns.get(i)) + ") AS "
						+ sides.oldTypes.get(oldColumns.get(i)) + ") AS zdm_r" + i);
			}
			String from = "(SELECT " + String.join(", ", second) + " FROM " + afterUp + ") AS zdm_round_trip";
			StringJoiner holds = new StringJoiner(" AND ");
			for (int i = 0; i < oldColumns.size(); i++) {
				holds.add(same("zdm_r" + i, "zdm_x" + i, sides.oldTypes.get(oldColumns.get(i))));
			}
			return new RoundTrip("down(up(x)) = x", from, holds.toString(), oldColumns, newColumns, false);
		}
		for (String column : oldColumns) {
			second.add("CAST((" + expression(migration.down(), column) + ") AS " + sides.oldTypes.get(column) + ") AS "
					+ quote(column));
		}
		String afterDown = "(SELECT " + String.join(", ", second) + " FROM " + afterUp + ") AS " + sides.oldAlias();
		// 3, lossy: up once more, as zdm_r<j>, compared with the first new values
		List<String> third = new ArrayList<>(carriedNames);
		third.addAll(range("zdm_x", oldColumns.size()));
		third.addAll(range("zdm_u", newColumns.size()));
		for (int j = 0; j < newColumns.size(); j++) {
			third.add("CAST((" + expression(migration.up(), newColumns.get(j)) + ") AS "
					+ sides.newTypes.get(newColumns.get(j)) + ") AS zdm_r" + j);
		}
		String from = "(SELECT " + String.join(", ", third) + " FROM " + afterDown + ") AS zdm_round_trip";
		StringJoiner holds = new StringJoiner(" AND ");
		for (int j = 0; j < newColumns.size(); j++) {
			holds.add(same("zdm_r" + j, "zdm_u" + j, sides.newTypes.get(newColumns.get(j))));
		}
		return new RoundTrip("up(down(up(x))) = up(x)", from, holds.toString(), oldColumns, newColumns, true);
	}

	/**
	 * The columns of the first row of the old table, as text, for the columns a generated
	 * row does not vary.
	 */
	private Map<String, @Nullable String> baseRow(Sides sides) {
		Map<String, @Nullable String> base = new LinkedHashMap<>();
		sides.oldTypes.keySet().forEach((column) -> base.put(column, null));
		StringJoiner select = new StringJoiner(", ");
		List<String> columns = new ArrayList<>(sides.oldTypes.keySet());
		for (int i = 0; i < columns.size(); i++) {
			select.add(quote(columns.get(i)) + "::text AS c" + i);
		}
		String order = String.join(", ", sides.migration.key().stream().map(SqlIdentifier::quoted).toList());
		List<Map<String, Object>> rows = query("SELECT " + select + " FROM " + sides.migration.table().quoted()
				+ (order.isEmpty() ? "" : " ORDER BY " + order) + " LIMIT 1");
		if (!rows.isEmpty()) {
			for (int i = 0; i < columns.size(); i++) {
				Object value = rows.get(0).get("c" + i);
				base.put(columns.get(i), (value != null) ? value.toString() : null);
			}
			sides.hasRows = true;
		}
		return base;
	}

	/**
	 * Values of a column type worth a round trip: its bounds, rounding edges of
	 * {@code numeric}, empty and mixed-case strings. {@code NULL} is added by the caller.
	 */
	static List<String> generatedValues(String type) {
		List<String> values = new ArrayList<>();
		Matcher numeric = NUMERIC.matcher(type);
		Matcher sizedText = SIZED_TEXT.matcher(type);
		if (type.equals("smallint")) {
			values.addAll(List.of("1", "0", "-1", "32767", "-32768"));
		}
		else if (type.equals("integer")) {
			values.addAll(List.of("1", "0", "-1", "2147483647", "-2147483648"));
		}
		else if (type.equals("bigint")) {
			values.addAll(List.of("1", "0", "-1", "9223372036854775807", "-9223372036854775808"));
		}
		else if (numeric.matches()) {
			int precision = Integer.parseInt(numeric.group(1));
			int scale = Integer.parseInt(numeric.group(2));
			int digits = precision - scale;
			String unit = (scale > 0) ? "0." + "0".repeat(scale - 1) + "1" : "1";
			values.addAll(List.of("1", "0", unit, "-" + unit));
			for (String edge : List.of("0.5", "1.5", "2.5", "-0.5", "0.29", "7.01", "1.005", "2.675", "0.1", "0.3")) {
				if (digits >= 1) {
					values.add(edge);
				}
			}
			if (digits > 0) {
				String max = "9".repeat(digits) + ((scale > 0) ? "." + "9".repeat(scale) : "");
				values.add(max);
				values.add("-" + max);
			}
		}
		else if (type.equals("numeric")) {
			values.addAll(List.of("1", "0", "0.5", "1.5", "2.5", "-0.5", "0.29", "7.01", "1.005", "2.675", "0.1",
					"0.000001", "123456789012345678.99", "-123456789012345678.99"));
		}
		else if (type.equals("real") || type.equals("double precision")) {
			values
				.addAll(List.of("1", "0", "-0", "0.1", "1.5", "2.5", "1e-30", "1e30", "NaN", "Infinity", "-Infinity"));
		}
		else if (type.equals("text") || type.equals("character varying") || type.equals("citext")) {
			values.addAll(List.of("a", "", " ", "Ab", " padded ", "O'Brien", "Straße É", "a.b@example.com"));
		}
		else if (sizedText.matches()) {
			int length = Integer.parseInt(sizedText.group(2));
			for (String text : List.of("a", "", " ", "Ab", "O'Brien", "Straße É", "a.b@example.com")) {
				if (text.length() <= length) {
					values.add(text);
				}
			}
			values.add("x".repeat(length));
		}
		else if (type.equals("boolean")) {
			values.addAll(List.of("true", "false"));
		}
		else if (type.equals("date")) {
			values.addAll(List.of("2000-02-29", "1970-01-01", "0001-01-01", "9999-12-31", "infinity", "-infinity"));
		}
		else if (type.startsWith("timestamp")) {
			values.addAll(List.of("2000-02-29 23:59:59.999999", "1970-01-01 00:00:00", "infinity", "-infinity"));
		}
		else if (type.equals("uuid")) {
			values.addAll(List.of("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"));
		}
		return values;
	}

	private Map<String, String> columnTypes(TableName table) {
		Map<String, String> types = new LinkedHashMap<>();
		this.jdbc.query(COLUMN_TYPES, (rs) -> {
			types.put(rs.getString(1), rs.getString(2));
		}, table.quoted());
		return types;
	}

	private List<Map<String, Object>> query(String sql, Object... parameters) {
		List<Map<String, Object>> rows = this.readOnly.execute((status) -> this.jdbc.queryForList(sql, parameters));
		return (rows != null) ? rows : List.of();
	}

	/**
	 * A row of every column of a table, from text values cast to the columns' types;
	 * columns without a value are {@code NULL}.
	 */
	private static String valuesRow(Map<String, String> types, Map<String, @Nullable String> values,
			List<Object> parameters, String alias) {
		StringJoiner select = new StringJoiner(", ");
		types.forEach((column, type) -> {
			if (values.containsKey(column) && values.get(column) != null) {
				select.add("CAST(CAST(? AS text) AS " + type + ") AS " + quote(column));
				parameters.add(values.get(column));
			}
			else {
				select.add("CAST(NULL AS " + type + ") AS " + quote(column));
			}
		});
		return "(SELECT " + select + ") AS " + alias;
	}

	private static String same(String left, String right, @Nullable String type) {
		// json has no equality operator: compare its text
		boolean text = type != null && (type.equals("json") || type.equals("xml"));
		return text ? "(" + left + ")::text IS NOT DISTINCT FROM (" + right + ")::text"
				: "(" + left + ") IS NOT DISTINCT FROM (" + right + ")";
	}

	private static @Nullable String expression(Map<SqlIdentifier, String> expressions, String column) {
		for (Map.Entry<SqlIdentifier, String> entry : expressions.entrySet()) {
			if (entry.getKey().name().equals(column)) {
				return entry.getValue();
			}
		}
		return null;
	}

	private static List<String> range(String prefix, int size) {
		List<String> names = new ArrayList<>();
		for (int i = 0; i < size; i++) {
			names.add(prefix + i);
		}
		return names;
	}

	private static String quote(String identifier) {
		return "\"" + identifier.replace("\"", "\"\"") + "\"";
	}

	private static String describe(Map<String, @Nullable String> values) {
		StringJoiner text = new StringJoiner(", ");
		values.forEach((column, value) -> text.add(column + "=" + literal(value)));
		return text.toString();
	}

	private static String literal(@Nullable Object value) {
		return (value != null) ? "'" + value + "'" : "null";
	}

	private static String message(DataAccessException ex) {
		Throwable cause = ex.getMostSpecificCause();
		String text = String.valueOf(cause.getMessage());
		int newline = text.indexOf('\n');
		return (newline > 0) ? text.substring(0, newline) : text;
	}

	private static TableName requiredTarget(MigrationDefinition migration) {
		TableName target = migration.targetTable();
		if (target == null) {
			throw new IllegalStateException("Migration '" + migration.id() + "' has no target table");
		}
		return target;
	}

	/**
	 * The old and new side of a migration, with their columns' types.
	 */
	private static final class Sides {

		private final MigrationDefinition migration;

		private final Map<String, String> oldTypes;

		private final Map<String, String> newTypes;

		private boolean hasRows;

		Sides(MigrationDefinition migration, Map<String, String> oldTypes, Map<String, String> newTypes) {
			this.migration = migration;
			this.oldTypes = oldTypes;
			this.newTypes = newTypes;
		}

		TableName oldTable() {
			return this.migration.table();
		}

		TableName newTable() {
			return this.migration.isCrossTable() ? requiredTarget(this.migration) : this.migration.table();
		}

		String oldAlias() {
			return oldTable().table().quoted();
		}

		String newAlias() {
			return newTable().table().quoted();
		}

	}

	/**
	 * A round trip as SQL: the rows it yields, the condition that must hold, and how to
	 * describe a row where it does not.
	 */
	private record RoundTrip(String name, String from, String holds, List<String> oldColumns, List<String> newColumns,
			boolean lossy) {

		String describe(Map<String, Object> row) {
			StringJoiner x = new StringJoiner(", ");
			for (int i = 0; i < this.oldColumns.size(); i++) {
				x.add(this.oldColumns.get(i) + "=" + literal(row.get("zdm_x" + i)));
			}
			StringJoiner up = new StringJoiner(", ");
			for (int j = 0; j < this.newColumns.size(); j++) {
				up.add(this.newColumns.get(j) + "=" + literal(row.get("zdm_u" + j)));
			}
			StringJoiner back = new StringJoiner(", ");
			if (this.lossy) {
				for (int j = 0; j < this.newColumns.size(); j++) {
					back.add(this.newColumns.get(j) + "=" + literal(row.get("zdm_r" + j)));
				}
				return x + ": up gives " + up + ", up(down(...)) gives " + back;
			}
			for (int i = 0; i < this.oldColumns.size(); i++) {
				back.add(this.oldColumns.get(i) + "=" + literal(row.get("zdm_r" + i)));
			}
			return x + ": up gives " + up + ", down gives back " + back;
		}

	}

}
