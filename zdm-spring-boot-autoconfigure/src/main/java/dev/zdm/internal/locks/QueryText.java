package dev.zdm.internal.locks;

import java.util.function.IntPredicate;

import org.jspecify.annotations.Nullable;

/**
 * Query text as zdm shows and stores it for another session: its constants replaced by
 * placeholders {@code $1}, {@code $2}, ..., as {@code pg_stat_statements} shows queries,
 * so that reports of blocking sessions never copy the values an application wrote (card
 * numbers, personal data) into logs, zdm's tables or the endpoint.
 * <p>
 * Replaced: string constants ({@code '...'}, {@code E'...'}, {@code B'...'},
 * {@code X'...'}, {@code N'...'}, {@code U&'...'}), dollar-quoted strings
 * ({@code $$...$$}, {@code $tag$...$tag$}) and numbers. Comments are removed.
 * Identifiers, keywords, operators and existing parameters are kept. A text cut off
 * inside a constant has the rest replaced.
 */
public final class QueryText {

	private QueryText() {
	}

	/**
	 * Return a query's text with its constants replaced by placeholders and its comments
	 * removed.
	 * @param query the query text, possibly cut off
	 * @return the normalized text, or {@code null} if the query is {@code null}
	 */
	public static @Nullable String normalize(@Nullable String query) {
		if (query == null) {
			return null;
		}
		return new Normalizer(query).normalize();
	}

	private static final class Normalizer {

		// Marks a constant replaced, until the placeholders are numbered; cannot occur in
		// PostgreSQL's text.
		private static final char PLACEHOLDER = '\u0000';

		private final String sql;

		private final StringBuilder out = new StringBuilder();

		private int position;

		private int highestParameter;

		private Normalizer(String sql) {
			this.sql = sql;
		}

		private String normalize() {
			while (this.position < this.sql.length()) {
				char c = this.sql.charAt(this.position);
				if (c == '\'') {
					skipString(this.position, false);
				}
				else if (isStringPrefix()) {
					int prefixLength = (c == 'U' || c == 'u') ? 2 : 1;
					boolean escapes = (c == 'E' || c == 'e');
					skipString(this.position + prefixLength, escapes);
				}
				else if (c == '"') {
					copyQuotedIdentifier();
				}
				else if (c == '-' && peek(1) == '-') {
					skipLineComment();
				}
				else if (c == '/' && peek(1) == '*') {
					skipBlockComment();
				}
				else if (c == '$' && Character.isDigit(peek(1))) {
					int start = this.position + 1;
					copyWhile(start, Character::isDigit);
					String digits = this.sql.substring(start, this.position);
					if (digits.length() <= 9) {
						this.highestParameter = Math.max(this.highestParameter, Integer.parseInt(digits));
					}
				}
				else if (c == '$' && dollarTag() != null) {
					skipDollarQuoted(dollarTag());
				}
				else if (Character.isDigit(c) || (c == '.' && Character.isDigit(peek(1)))) {
					skipNumber();
				}
				else if (Character.isLetter(c) || c == '_') {
					copyWhile(this.position, (ch) -> Character.isLetterOrDigit(ch) || ch == '_' || ch == '$');
				}
				else {
					this.out.append(c);
					this.position++;
				}
			}
			// Placeholders are numbered after the parameters the text already has, as
			// pg_stat_statements does.
			StringBuilder numbered = new StringBuilder(this.out.length() + 16);
			int parameter = this.highestParameter;
			for (int i = 0; i < this.out.length(); i++) {
				char c = this.out.charAt(i);
				if (c == PLACEHOLDER) {
					numbered.append('$').append(++parameter);
				}
				else {
					numbered.append(c);
				}
			}
			return numbered.toString();
		}

		// E'..', B'..', X'..', N'..' or U&'..', not the end of a longer word.
		private boolean isStringPrefix() {
			char c = this.sql.charAt(this.position);
			if (this.position > 0) {
				char before = this.sql.charAt(this.position - 1);
				if (Character.isLetterOrDigit(before) || before == '_' || before == '$') {
					return false;
				}
			}
			if ("EeBbXxNn".indexOf(c) >= 0) {
				return peek(1) == '\'';
			}
			return (c == 'U' || c == 'u') && peek(1) == '&' && peek(2) == '\'';
		}

		private void skipString(int quote, boolean backslashEscapes) {
			int i = quote + 1;
			while (i < this.sql.length()) {
				char c = this.sql.charAt(i);
				if (backslashEscapes && c == '\\') {
					i += 2;
					continue;
				}
				if (c == '\'') {
					if (i + 1 < this.sql.length() && this.sql.charAt(i + 1) == '\'') {
						i += 2;
						continue;
					}
					i++;
					break;
				}
				i++;
			}
			placeholder(Math.min(i, this.sql.length()));
		}

		private @Nullable String dollarTag() {
			int i = this.position + 1;
			while (i < this.sql.length()) {
				char c = this.sql.charAt(i);
				if (c == '$') {
					return this.sql.substring(this.position, i + 1);
				}
				if (!(Character.isLetterOrDigit(c) || c == '_') || (i == this.position + 1 && Character.isDigit(c))) {
					return null;
				}
				i++;
			}
			return null;
		}

		private void skipDollarQuoted(String tag) {
			int end = this.sql.indexOf(tag, this.position + tag.length());
			placeholder((end < 0) ? this.sql.length() : end + tag.length());
		}

		private void skipNumber() {
			int i = this.position;
			if (this.sql.startsWith("0x", i) || this.sql.startsWith("0X", i) || this.sql.startsWith("0o", i)
					|| this.sql.startsWith("0O", i) || this.sql.startsWith("0b", i) || this.sql.startsWith("0B", i)) {
				i += 2;
				while (i < this.sql.length()
						&& (Character.isLetterOrDigit(this.sql.charAt(i)) || this.sql.charAt(i) == '_')) {
					i++;
				}
				placeholder(i);
				return;
			}
			while (i < this.sql.length() && (Character.isDigit(this.sql.charAt(i)) || this.sql.charAt(i) == '_')) {
				i++;
			}
			if (i < this.sql.length() && this.sql.charAt(i) == '.'
					&& !(i + 1 < this.sql.length() && this.sql.charAt(i + 1) == '.')) {
				i++;
				while (i < this.sql.length() && Character.isDigit(this.sql.charAt(i))) {
					i++;
				}
			}
			if (i < this.sql.length() && (this.sql.charAt(i) == 'e' || this.sql.charAt(i) == 'E')) {
				int exponent = i + 1;
				if (exponent < this.sql.length()
						&& (this.sql.charAt(exponent) == '+' || this.sql.charAt(exponent) == '-')) {
					exponent++;
				}
				if (exponent < this.sql.length() && Character.isDigit(this.sql.charAt(exponent))) {
					i = exponent;
					while (i < this.sql.length() && Character.isDigit(this.sql.charAt(i))) {
						i++;
					}
				}
			}
			placeholder(i);
		}

		private void copyQuotedIdentifier() {
			int i = this.position + 1;
			while (i < this.sql.length()) {
				if (this.sql.charAt(i) == '"') {
					if (i + 1 < this.sql.length() && this.sql.charAt(i + 1) == '"') {
						i += 2;
						continue;
					}
					i++;
					break;
				}
				i++;
			}
			this.out.append(this.sql, this.position, Math.min(i, this.sql.length()));
			this.position = Math.min(i, this.sql.length());
		}

		private void skipLineComment() {
			int end = this.sql.indexOf('\n', this.position);
			this.position = (end < 0) ? this.sql.length() : end;
			this.out.append(' ');
		}

		private void skipBlockComment() {
			int depth = 0;
			int i = this.position;
			while (i < this.sql.length()) {
				if (this.sql.startsWith("/*", i)) {
					depth++;
					i += 2;
				}
				else if (this.sql.startsWith("*/", i)) {
					depth--;
					i += 2;
					if (depth == 0) {
						break;
					}
				}
				else {
					i++;
				}
			}
			this.position = Math.min(i, this.sql.length());
			this.out.append(' ');
		}

		private void copyWhile(int from, IntPredicate part) {
			int i = from;
			while (i < this.sql.length() && part.test(this.sql.charAt(i))) {
				i++;
			}
			this.out.append(this.sql, this.position, i);
			this.position = i;
		}

		private void placeholder(int end) {
			this.out.append(PLACEHOLDER);
			this.position = end;
		}

		private char peek(int offset) {
			int i = this.position + offset;
			return (i < this.sql.length()) ? this.sql.charAt(i) : 0;
		}

	}

}
