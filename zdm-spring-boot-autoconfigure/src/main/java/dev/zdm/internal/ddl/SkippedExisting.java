package dev.zdm.internal.ddl;

import java.sql.SQLWarning;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Tells from a statement's warnings whether PostgreSQL skipped what it creates because it
 * existed already: the notice of an {@code IF NOT EXISTS} ({@code relation "i" already
 * exists, skipping}), told by its SQL state, not its text, which follows the server's
 * language.
 */
final class SkippedExisting {

	/**
	 * The SQL states of the notices an {@code IF NOT EXISTS} gives for a relation (a
	 * table, an index, a sequence, a view), a column, another object (a type, a
	 * constraint), a schema and a function.
	 */
	private static final Set<String> DUPLICATE = Set.of("42P07", "42701", "42710", "42P06", "42723");

	private SkippedExisting() {
	}

	static boolean in(@Nullable SQLWarning warnings) {
		for (SQLWarning warning = warnings; warning != null; warning = warning.getNextWarning()) {
			if (DUPLICATE.contains(warning.getSQLState())) {
				return true;
			}
		}
		return false;
	}

}
