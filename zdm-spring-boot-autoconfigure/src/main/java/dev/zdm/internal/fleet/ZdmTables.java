package dev.zdm.internal.fleet;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.SqlIdentifier;

/**
 * Where zdm's own tables are: in the schema {@code zdm.schema} names, or, when it names
 * none, wherever the connection's {@code search_path} finds them (the schema zdm created
 * them in before the setting existed). Every statement on zdm's tables goes through
 * {@link #qualify(String)}, so that it names them in their schema.
 */
public final class ZdmTables {

	/** zdm's tables where the connection's {@code search_path} finds them. */
	public static final ZdmTables DEFAULT = new ZdmTables(null);

	// Every table zdm's own schema migrations create; a name not listed here (a column, a
	// temporary table, a function on the application's tables) is left as it is.
	private static final Pattern TABLE = Pattern.compile("\\bzdm_(migration|instance|ddl_step|ddl_statement"
			+ "|ddl_lock_timeout|ddl_blocker|ddl_pause|backfill|backfill_verification|backfill_override"
			+ "|contract_check|operator_action|schema_history)\\b");

	private final @Nullable SqlIdentifier schema;

	private ZdmTables(@Nullable SqlIdentifier schema) {
		this.schema = schema;
	}

	/**
	 * Return zdm's tables in a schema.
	 * @param schema the schema, or {@code null} for the connection's current one
	 * @return the tables
	 * @throws IllegalArgumentException if the schema is not a plain SQL identifier
	 */
	public static ZdmTables inSchema(@Nullable String schema) {
		return (schema != null) ? new ZdmTables(new SqlIdentifier(schema)) : DEFAULT;
	}

	/**
	 * Return the schema of zdm's tables.
	 * @return the schema, or {@code null} for the connection's current one
	 */
	public @Nullable String schema() {
		return (this.schema != null) ? this.schema.name() : null;
	}

	/**
	 * Return a statement with each of zdm's tables it names qualified by their schema.
	 * The statement must name them bare, with an alias where a column or the whole row is
	 * taken from one.
	 * @param sql the statement
	 * @return the statement as it runs
	 */
	public String qualify(String sql) {
		SqlIdentifier schema = this.schema;
		if (schema == null) {
			return sql;
		}
		return TABLE.matcher(sql)
			.replaceAll((match) -> Matcher.quoteReplacement(schema.quoted() + "." + match.group()));
	}

	@Override
	public String toString() {
		return (this.schema != null) ? this.schema.name() : "(current schema)";
	}

}
