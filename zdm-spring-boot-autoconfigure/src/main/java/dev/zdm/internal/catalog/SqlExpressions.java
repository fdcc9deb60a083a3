package dev.zdm.internal.catalog;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.SqlIdentifier;

/**
 * Lexical checks on SQL expressions taken from configuration ({@code up} and
 * {@code down}), made before the database sees them: one expression, no statement
 * separators, no comments, balanced quotes and parentheses.
 */
public final class SqlExpressions {

	private SqlExpressions() {
	}

	/**
	 * Return what is wrong with an expression, lexically.
	 * @param expression the expression
	 * @return the problem, or {@code null} if the expression may be sent to the database
	 * for checking
	 */
	public static @Nullable String lexicalProblem(@Nullable String expression) {
		if (expression == null || expression.isBlank()) {
			return "the expression is empty";
		}
		int depth = 0;
		boolean inString = false;
		boolean inIdentifier = false;
		for (int i = 0; i < expression.length(); i++) {
			char c = expression.charAt(i);
			char next = (i + 1 < expression.length()) ? expression.charAt(i + 1) : 0;
			if (inString) {
				if (c == '\'') {
					inString = false;
				}
				continue;
			}
			if (inIdentifier) {
				if (c == '"') {
					inIdentifier = false;
				}
				continue;
			}
			switch (c) {
				case '\'' -> inString = true;
				case '"' -> inIdentifier = true;
				case ';' -> {
					return "it contains ';': an expression may not hold more than one statement";
				}
				case '$' -> {
					if (next == '$' || Character.isLetter(next) || next == '_') {
						return "it contains dollar quoting, which is not allowed in an expression";
					}
				}
				case '(' -> depth++;
				case ')' -> {
					depth--;
					if (depth < 0) {
						return "it has a ')' without a matching '('";
					}
				}
				default -> {
					if ((c == '-' && next == '-') || (c == '/' && next == '*')) {
						return "it contains a comment, which is not allowed in an expression";
					}
				}
			}
		}
		if (inString) {
			return "it has an unterminated string literal";
		}
		if (inIdentifier) {
			return "it has an unterminated quoted identifier";
		}
		if (depth != 0) {
			return "it has a '(' without a matching ')'";
		}
		return null;
	}

	/**
	 * Return the columns of a table that any of the expressions mentions, by name: quoted
	 * as written, or unquoted (then in any case) when the name is all lower case. A
	 * mention inside a string literal counts too: the list may hold a column more, never
	 * one less.
	 * @param tableColumns the table's columns, in order
	 * @param expressions the expressions
	 * @return the columns mentioned, in the table's order
	 */
	public static List<SqlIdentifier> referencedColumns(List<SqlIdentifier> tableColumns,
			Collection<String> expressions) {
		return tableColumns.stream()
			.filter((column) -> expressions.stream().anyMatch((expression) -> mentions(expression, column)))
			.toList();
	}

	private static boolean mentions(String expression, SqlIdentifier column) {
		String name = column.name();
		if (expression.contains('"' + name + '"')) {
			return true;
		}
		if (!name.equals(name.toLowerCase(Locale.ROOT))) {
			return false;
		}
		Pattern unquoted = Pattern.compile("(?<![A-Za-z0-9_$\"])" + Pattern.quote(name) + "(?![A-Za-z0-9_$\"])",
				Pattern.CASE_INSENSITIVE);
		return unquoted.matcher(expression).find();
	}

}
