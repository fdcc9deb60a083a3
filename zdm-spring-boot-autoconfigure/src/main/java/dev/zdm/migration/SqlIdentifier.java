package dev.zdm.migration;

import java.util.regex.Pattern;

/**
 * An SQL identifier taken from configuration: validated when created, always quoted when
 * written into a statement.
 *
 * @param name the identifier as stored in the catalog
 */
public record SqlIdentifier(String name) {

	private static final Pattern VALID = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");

	/**
	 * Create a new identifier.
	 * @param name the identifier as stored in the catalog
	 * @throws IllegalArgumentException if the name is not a plain SQL identifier
	 */
	public SqlIdentifier {
		if (!isValid(name)) {
			throw new IllegalArgumentException("'" + name + "' is not a valid SQL identifier");
		}
	}

	/**
	 * Whether a name is a plain SQL identifier: a letter or underscore, then letters,
	 * digits, underscores or dollar signs, at most 63 characters.
	 * @param name the name to check
	 * @return {@code true} if it may be used as an identifier
	 */
	public static boolean isValid(String name) {
		return name != null && VALID.matcher(name).matches();
	}

	/**
	 * Return the identifier quoted for use in SQL.
	 * @return for example {@code "email_address"}
	 */
	public String quoted() {
		return '"' + this.name + '"';
	}

	@Override
	public String toString() {
		return this.name;
	}

}
