package dev.zdm.ddl;

/**
 * One lexical token of an SQL statement, as {@link SqlScriptParser} reads it.
 *
 * @param type what kind of token it is
 * @param value an unquoted word in lower case, a quoted identifier as written between its quotes, a string
 * literal's content, or the symbol itself
 */
public record SqlToken(Type type, String value) {

	boolean isWord(String word) {
		return this.type == Type.WORD && this.value.equals(word);
	}

	boolean isSymbol(String symbol) {
		return this.type == Type.SYMBOL && this.value.equals(symbol);
	}

	boolean isName() {
		return this.type == Type.WORD || this.type == Type.QUOTED;
	}

	/**
	 * Return the token as it may be written back into SQL: quoted identifiers re-quoted, strings re-quoted.
	 * @return the SQL text of the token
	 */
	String sql() {
		return switch (this.type) {
			case QUOTED -> '"' + this.value.replace("\"", "\"\"") + '"';
			case STRING -> "'" + this.value.replace("'", "''") + "'";
			default -> this.value;
		};
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
