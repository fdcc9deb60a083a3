package dev.zdm.internal.catalog;

import org.jspecify.annotations.Nullable;

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

}
