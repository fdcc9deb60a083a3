package dev.zdm.testkit;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Examples of a migration's conversion, checked by a {@link PhaseWalk} against
 * PostgreSQL's own evaluation of the migration's {@code up} and {@code down} expressions:
 * <pre class="code">
 * walk.conversion(Conversion.of("products-price")
 *     .example(Map.of("price", "7.01"), Map.of("price_cents", 701))   // up, and down back
 *     .example(Map.of("price", "0.29"), Map.of("price_cents", 29)));
 * </pre> Values are written as Java values or as text and cast to the column's type, as
 * PostgreSQL casts a literal; {@code null} is SQL {@code NULL}. Columns an example does
 * not name are {@code NULL}.
 * <p>
 * Besides the examples, the walk checks that {@code down(up(x)) = x} for the rows that
 * exist when the expand DDL has run and for values generated from the old columns' types
 * ({@code NULL}, the type's bounds, rounding edges of {@code numeric}, empty and
 * mixed-case strings, ...). For a conversion that loses information on purpose (for
 * example {@code lower(email)}) declare it {@link #lossy()}: the walk then checks that
 * {@code up(down(up(x))) = up(x)}, which is what the application needs from
 * {@code read-new} on.
 */
public final class Conversion {

	private final String migrationId;

	private final List<Example> examples;

	private final boolean lossy;

	private Conversion(String migrationId, List<Example> examples, boolean lossy) {
		this.migrationId = migrationId;
		this.examples = List.copyOf(examples);
		this.lossy = lossy;
	}

	/**
	 * Start the examples of a migration.
	 * @param migrationId the migration, a key under {@code zdm.migrations}
	 * @return the conversion, without examples
	 */
	public static Conversion of(String migrationId) {
		return new Conversion(migrationId, List.of(), false);
	}

	/**
	 * Add an example that holds both ways: {@code up} gives the new columns from the old
	 * ones, and {@code down} gives the old columns back from the new ones.
	 * @param oldColumns old columns and their values, for example {@code price = 7.01}
	 * @param newColumns new columns and the values they take, for example
	 * {@code price_cents = 701}
	 * @return a conversion with the example
	 */
	public Conversion example(Map<String, ? extends @Nullable Object> oldColumns,
			Map<String, ? extends @Nullable Object> newColumns) {
		return with(Example.of(Direction.UP, oldColumns, newColumns))
			.with(Example.of(Direction.DOWN, newColumns, oldColumns));
	}

	/**
	 * Add an example of {@code up} only: given the old columns, the new ones take these
	 * values.
	 * @param oldColumns old columns and their values
	 * @param newColumns new columns and the values {@code up} gives them
	 * @return a conversion with the example
	 */
	public Conversion upExample(Map<String, ? extends @Nullable Object> oldColumns,
			Map<String, ? extends @Nullable Object> newColumns) {
		return with(Example.of(Direction.UP, oldColumns, newColumns));
	}

	/**
	 * Add an example of {@code down} only: given the new columns, the old ones take these
	 * values.
	 * @param newColumns new columns and their values
	 * @param oldColumns old columns and the values {@code down} gives them
	 * @return a conversion with the example
	 */
	public Conversion downExample(Map<String, ? extends @Nullable Object> newColumns,
			Map<String, ? extends @Nullable Object> oldColumns) {
		return with(Example.of(Direction.DOWN, newColumns, oldColumns));
	}

	/**
	 * Declare that {@code up} loses information on purpose, so that {@code down(up(x))}
	 * need not give {@code x} back; {@code up(down(up(x)))} must still give
	 * {@code up(x)}.
	 * @return a lossy conversion with the same examples
	 */
	public Conversion lossy() {
		return new Conversion(this.migrationId, this.examples, true);
	}

	String migrationId() {
		return this.migrationId;
	}

	List<Example> examples() {
		return this.examples;
	}

	boolean isLossy() {
		return this.lossy;
	}

	private Conversion with(Example example) {
		List<Example> examples = new ArrayList<>(this.examples);
		examples.add(example);
		return new Conversion(this.migrationId, examples, this.lossy);
	}

	@Override
	public String toString() {
		return "conversion of migration '" + this.migrationId + "' with " + this.examples.size() + " examples"
				+ (this.lossy ? ", lossy" : "");
	}

	/**
	 * Which expressions an example is about.
	 */
	enum Direction {

		/** {@code up}: old columns given, new columns expected. */
		UP,

		/** {@code down}: new columns given, old columns expected. */
		DOWN

	}

	/**
	 * One example: the columns given and the columns expected, as text.
	 *
	 * @param direction which expressions it checks
	 * @param given the columns given
	 * @param expected the columns expected
	 */
	record Example(Direction direction, Map<String, @Nullable String> given, Map<String, @Nullable String> expected) {

		static Example of(Direction direction, Map<String, ? extends @Nullable Object> given,
				Map<String, ? extends @Nullable Object> expected) {
			return new Example(direction, text(given), text(expected));
		}

		private static Map<String, @Nullable String> text(Map<String, ? extends @Nullable Object> values) {
			if (values.isEmpty()) {
				throw new IllegalArgumentException("An example names at least one column on each side; to give or "
						+ "expect NULL, name the column with a null value, for example "
						+ "Collections.singletonMap(\"full_name\", null) (Map.of refuses null values)");
			}
			Map<String, @Nullable String> text = new LinkedHashMap<>();
			values.forEach((column, value) -> text.put(column, (value instanceof BigDecimal decimal)
					? decimal.toPlainString() : (value != null) ? value.toString() : null));
			return Collections.unmodifiableMap(text);
		}

	}

}
