package dev.zdm.ddl;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.script.DdlStatement;

/**
 * A statement of a script that performs an {@link UnsafeOperation}.
 *
 * @param source the script (or contributor) the statement comes from
 * @param statement the statement
 * @param operation what is unsafe about it
 * @param detail what the check found, for example the column's current and new type, or
 * {@code null}
 */
public record UnsafeStatement(String source, DdlStatement statement, UnsafeOperation operation,
		@Nullable String detail) {

	/**
	 * Describe the finding in one line: where, what, and why it is unsafe.
	 * @return the description
	 */
	public String describe() {
		return this.source + " line " + this.statement.line() + ": \"" + this.statement.abbreviated() + "\" is unsafe ("
				+ this.operation.code() + "): " + this.operation.reason()
				+ ((this.detail != null) ? " [" + this.detail + "]" : "");
	}

}
