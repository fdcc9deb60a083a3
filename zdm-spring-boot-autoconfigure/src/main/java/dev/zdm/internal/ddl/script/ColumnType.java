package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * A column type as far as the unsafe-statement checks need it: its base type and its
 * modifiers, and which changes of type PostgreSQL makes without rewriting the table.
 *
 * @param base the base type, aliases resolved, for example {@code character varying}
 * @param modifiers the type's modifiers, for example a length
 */
record ColumnType(String base, List<Integer> modifiers) {

	private static final Map<String, String> ALIASES = Map.ofEntries(Map.entry("varchar", "character varying"),
			Map.entry("decimal", "numeric"), Map.entry("int", "integer"), Map.entry("int4", "integer"),
			Map.entry("int8", "bigint"), Map.entry("int2", "smallint"), Map.entry("varbit", "bit varying"),
			Map.entry("timestamp", "timestamp without time zone"), Map.entry("timestamptz", "timestamp with time zone"),
			Map.entry("time", "time without time zone"), Map.entry("timetz", "time with time zone"));

	// Types whose precision may grow (or be dropped, meaning 6) without a rewrite.
	private static final Set<String> TEMPORAL = Set.of("timestamp without time zone", "timestamp with time zone",
			"time without time zone", "interval");

	static @Nullable ColumnType parse(List<SqlToken> tokens) {
		StringBuilder base = new StringBuilder();
		List<Integer> modifiers = new ArrayList<>();
		int i = 0;
		while (i < tokens.size() && tokens.get(i).type() == SqlToken.Type.WORD && !tokens.get(i).isWord("collate")
				&& !tokens.get(i).isWord("using")) {
			base.append((base.length() > 0) ? " " : "").append(tokens.get(i).value());
			i++;
		}
		if (i < tokens.size() && tokens.get(i).isSymbol("(")) {
			i++;
			while (i < tokens.size() && !tokens.get(i).isSymbol(")")) {
				SqlToken token = tokens.get(i);
				if (token.type() == SqlToken.Type.NUMBER) {
					try {
						modifiers.add(Integer.parseInt(token.value()));
					}
					catch (NumberFormatException ex) {
						return null;
					}
				}
				i++;
			}
			// words after the modifiers belong to the type, as in timestamp(3) with time
			// zone
			i++;
			while (i < tokens.size() && tokens.get(i).type() == SqlToken.Type.WORD && !tokens.get(i).isWord("collate")
					&& !tokens.get(i).isWord("using")) {
				base.append(" ").append(tokens.get(i).value());
				i++;
			}
		}
		if (base.length() == 0) {
			return null;
		}
		String name = base.toString();
		return new ColumnType(ALIASES.getOrDefault(name, name), modifiers);
	}

	// Changes PostgreSQL makes without rewriting the table or rebuilding its indexes.
	boolean canWidenTo(ColumnType target) {
		if (equals(target)) {
			return true;
		}
		if (this.base.equals("character varying")) {
			return target.base.equals("text") || (target.base.equals("character varying") && (target.modifiers.isEmpty()
					|| (!this.modifiers.isEmpty() && target.modifiers.get(0) >= this.modifiers.get(0))));
		}
		if (this.base.equals("text")) {
			return target.base.equals("character varying") && target.modifiers.isEmpty();
		}
		if (this.base.equals("bit varying")) {
			return target.base.equals("bit varying") && (target.modifiers.isEmpty()
					|| (!this.modifiers.isEmpty() && target.modifiers.get(0) >= this.modifiers.get(0)));
		}
		if (this.base.equals("cidr")) {
			return target.base.equals("inet");
		}
		if (TEMPORAL.contains(this.base) && this.base.equals(target.base)) {
			return precision(target) >= precision(this);
		}
		if (this.base.equals("numeric") && target.base.equals("numeric")) {
			return target.modifiers.isEmpty() || (this.modifiers.size() == 2 && target.modifiers.size() == 2
					&& target.modifiers.get(0) >= this.modifiers.get(0)
					&& target.modifiers.get(1).equals(this.modifiers.get(1)));
		}
		return false;
	}

	private static int precision(ColumnType type) {
		return type.modifiers.isEmpty() ? 6 : type.modifiers.get(0);
	}

	@Override
	public String toString() {
		if (this.modifiers.isEmpty()) {
			return this.base;
		}
		return this.base + this.modifiers.toString().replace('[', '(').replace(']', ')');
	}

}
