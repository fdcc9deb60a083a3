package dev.zdm.migration;

import org.jspecify.annotations.Nullable;

/**
 * A table named in configuration, optionally qualified by its schema.
 *
 * @param schema the schema, or {@code null} to use the first schema on the search path
 * that has the table
 * @param table the table
 */
public record TableName(@Nullable SqlIdentifier schema, SqlIdentifier table) {

	/**
	 * Parse {@code table} or {@code schema.table}.
	 * @param value the configured value
	 * @return the table name
	 * @throws IllegalArgumentException if either part is not a valid identifier
	 */
	public static TableName parse(String value) {
		int dot = value.indexOf('.');
		if (dot < 0) {
			return new TableName(null, new SqlIdentifier(value.trim()));
		}
		return new TableName(new SqlIdentifier(value.substring(0, dot).trim()),
				new SqlIdentifier(value.substring(dot + 1).trim()));
	}

	/**
	 * Return this name with its schema set.
	 * @param resolvedSchema the schema the table was found in
	 * @return a qualified name
	 */
	public TableName inSchema(String resolvedSchema) {
		return new TableName(new SqlIdentifier(resolvedSchema), this.table);
	}

	/**
	 * Return the name quoted for use in SQL, qualified if the schema is known.
	 * @return for example {@code "public"."users"}
	 */
	public String quoted() {
		return (this.schema != null) ? this.schema.quoted() + "." + this.table.quoted() : this.table.quoted();
	}

	@Override
	public String toString() {
		return (this.schema != null) ? this.schema + "." + this.table : this.table.toString();
	}

}
