package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;

/**
 * One lexical token of an SQL statement, as {@link SqlScriptParser} reads it.
 *
 * @param type what kind of token it is
 * @param value an unquoted word in lower case, a quoted identifier as written between its
 * quotes, a string literal's content, or the symbol itself
 */
public record SqlToken(Type type, String value) {

	public boolean isWord(String word) {
		return this.type == Type.WORD && this.value.equals(word);
	}

	public boolean isSymbol(String symbol) {
		return this.type == Type.SYMBOL && this.value.equals(symbol);
	}

	public boolean isName() {
		return this.type == Type.WORD || this.type == Type.QUOTED;
	}

	/**
	 * Whether the token at a position is the given word.
	 */
	/**
	 * Split the tokens from a position into the elements separated by commas outside
	 * parentheses, up to a closing parenthesis that has no opening one or the end: the
	 * columns and constraints of a {@code CREATE TABLE}, or the actions of an
	 * {@code ALTER TABLE}.
	 * @param tokens the tokens
	 * @param from where to start
	 * @return the elements, each its tokens without the separating comma
	 */
	static List<List<SqlToken>> splitAtTopLevelCommas(List<SqlToken> tokens, int from) {
		List<List<SqlToken>> elements = new ArrayList<>();
		List<SqlToken> current = new ArrayList<>();
		int depth = 0;
		for (int i = from; i < tokens.size(); i++) {
			SqlToken token = tokens.get(i);
			if (token.isSymbol("(")) {
				depth++;
			}
			else if (token.isSymbol(")")) {
				if (depth == 0) {
					break;
				}
				depth--;
			}
			if (depth == 0 && token.isSymbol(",")) {
				elements.add(current);
				current = new ArrayList<>();
			}
			else {
				current.add(token);
			}
		}
		if (!current.isEmpty()) {
			elements.add(current);
		}
		return elements;
	}

	public static boolean isWordAt(List<SqlToken> tokens, int position, String word) {
		return position < tokens.size() && tokens.get(position).isWord(word);
	}

	/**
	 * Whether the tokens from a position on are the given words or symbols, in order.
	 */
	public static boolean matchAt(List<SqlToken> tokens, int position, String... words) {
		if (position + words.length > tokens.size()) {
			return false;
		}
		for (int i = 0; i < words.length; i++) {
			SqlToken token = tokens.get(position + i);
			if (!token.isWord(words[i]) && !token.isSymbol(words[i])) {
				return false;
			}
		}
		return true;
	}

	/**
	 * Whether the given words follow each other anywhere from a position on.
	 */
	static boolean containsWords(List<SqlToken> tokens, int from, String... words) {
		for (int i = from; i + words.length <= tokens.size(); i++) {
			boolean match = true;
			for (int j = 0; j < words.length && match; j++) {
				match = tokens.get(i + j).isWord(words[j]);
			}
			if (match) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Return the token as it may be written back into SQL: quoted identifiers re-quoted,
	 * strings re-quoted.
	 * @return the SQL text of the token
	 */
	String sql() {
		return switch (this.type) {
			case QUOTED -> '"' + this.value.replace("\"", "\"\"") + '"';
			case STRING -> literal(this.value);
			default -> this.value;
		};
	}

	/**
	 * Return a text as an SQL string literal, its quotes doubled.
	 * @param text the text
	 * @return the literal, for example {@code 'it''s'}
	 */
	public static String literal(String text) {
		return "'" + text.replace("'", "''") + "'";
	}

	public enum Type {

		/** An unquoted identifier or key word. */
		WORD,

		/** A quoted identifier. */
		QUOTED,

		/** A string literal, dollar-quoted or not. */
		STRING,

		/** A number. */
		NUMBER,

		/** Punctuation or an operator. */
		SYMBOL

	}

}
