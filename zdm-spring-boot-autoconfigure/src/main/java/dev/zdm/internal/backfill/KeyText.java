package dev.zdm.internal.backfill;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads the text form of a key of several columns, a PostgreSQL text array literal such
 * as {@code {42,"acme, inc."}} as {@code ARRAY[a::text, b::text]::text} writes it:
 * elements separated by commas, double-quoted when they hold a comma, a brace, a quote, a
 * backslash or white space (or are empty, or spell {@code NULL}), with {@code \"} and
 * {@code \\} escaped inside quotes.
 */
final class KeyText {

	private KeyText() {
	}

	/**
	 * Split a text array literal into its elements.
	 * @param literal the literal
	 * @return the elements, in order
	 * @throws IllegalArgumentException if it is not a one-dimensional array literal
	 * without nulls
	 */
	static List<String> split(String literal) {
		if (literal.length() < 2 || literal.charAt(0) != '{' || literal.charAt(literal.length() - 1) != '}') {
			throw new IllegalArgumentException("Not a key of several columns: " + literal);
		}
		List<String> elements = new ArrayList<>();
		StringBuilder element = new StringBuilder();
		boolean quoted = false;
		boolean wasQuoted = false;
		for (int i = 1; i < literal.length() - 1; i++) {
			char c = literal.charAt(i);
			if (quoted) {
				if (c == '\\') {
					element.append(literal.charAt(++i));
				}
				else if (c == '"') {
					quoted = false;
				}
				else {
					element.append(c);
				}
			}
			else if (c == '"') {
				quoted = true;
				wasQuoted = true;
			}
			else if (c == ',') {
				elements.add(element(element, wasQuoted, literal));
				element.setLength(0);
				wasQuoted = false;
			}
			else {
				element.append(c);
			}
		}
		elements.add(element(element, wasQuoted, literal));
		return elements;
	}

	private static String element(StringBuilder element, boolean wasQuoted, String literal) {
		String text = element.toString();
		if (!wasQuoted && text.equalsIgnoreCase("NULL")) {
			throw new IllegalArgumentException("A key column is null in " + literal);
		}
		return text;
	}

}
