package dev.zdm.ddl;

import org.jspecify.annotations.Nullable;

/**
 * A statement of a script that performs an {@link UnsafeOperation}.
 *
 * @param source the script (or contributor) the statement comes from
 * @param index the statement's position in its script, from 0
 * @param line the line of the script the statement starts on, from 1
 * @param sql the statement's text
 * @param operation what is unsafe about it
 * @param detail what the check found, for example the column's current and new type, or
 * {@code null}
 */
public record UnsafeStatement(String source, int index, int line, String sql, UnsafeOperation operation,
		@Nullable String detail) {

	/**
	 * Describe the finding in one line: where, what, and why it is unsafe.
	 * @return the description
	 */
	public String describe() {
		return this.source + " line " + this.line + ": \"" + abbreviated() + "\" is unsafe (" + this.operation.code()
				+ "): " + this.operation.reason() + ((this.detail != null) ? " [" + this.detail + "]" : "");
	}

	/**
	 * Return the statement on one line, cut to 200 characters.
	 * @return the abbreviated statement
	 */
	public String abbreviated() {
		String oneLine = this.sql.replaceAll("\\s+", " ").trim();
		return (oneLine.length() <= 200) ? oneLine : oneLine.substring(0, 197) + "...";
	}

}
