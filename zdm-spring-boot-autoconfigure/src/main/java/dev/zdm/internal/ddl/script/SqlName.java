package dev.zdm.internal.ddl.script;

import java.util.List;
import java.util.function.IntConsumer;

import org.jspecify.annotations.Nullable;

/**
 * A possibly qualified name read from a statement's tokens.
 *
 * @param sql the whole name as SQL text, for example {@code public."Users"}
 * @param key the last part as the catalog stores it, to compare names
 */
public record SqlName(String sql, String key) {

	/**
	 * Read a name at a position.
	 * @param tokens the tokens
	 * @param start where the name starts
	 * @param end told the position after the name, if one is read
	 * @return the name, or {@code null} if there is none at that position
	 */
	public static @Nullable SqlName read(List<SqlToken> tokens, int start, IntConsumer end) {
		if (start >= tokens.size() || !tokens.get(start).isName()) {
			return null;
		}
		SqlToken first = tokens.get(start);
		if (start + 2 < tokens.size() && tokens.get(start + 1).isSymbol(".") && tokens.get(start + 2).isName()) {
			SqlToken second = tokens.get(start + 2);
			end.accept(start + 3);
			return new SqlName(first.sql() + "." + second.sql(), second.value());
		}
		end.accept(start + 1);
		return new SqlName(first.sql(), first.value());
	}

}
