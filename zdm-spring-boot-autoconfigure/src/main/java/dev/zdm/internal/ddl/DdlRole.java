package dev.zdm.internal.ddl;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;

/**
 * What the role that runs zdm's DDL may do to a migration's tables: the expand and
 * contract statements alter the table, which takes its owner (or a member of the owner's
 * role), and the sync and guard functions are created in the table's schema, which takes
 * {@code CREATE} there. Asked before the expand starts and before the contract is
 * claimed: a contract claimed and then refused its DDL would leave the fleet contracted
 * with the old columns still there and unguarded (an outside run with a role that owned
 * nothing saw it retried every 10 s).
 */
final class DdlRole {

	private static final String TABLE = """
			/* zdm */ SELECT pg_get_userbyid(c.relowner) AS owner,
			       pg_has_role(current_user, c.relowner, 'USAGE') AS owns, n.nspname AS schema,
			       has_schema_privilege(current_user, n.oid, 'CREATE') AS creates
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.oid = to_regclass(?)
			""";

	private static final String SCHEMA = """
			/* zdm */ SELECT n.nspname AS schema,
			       has_schema_privilege(current_user, n.oid, 'CREATE') AS creates
			FROM pg_namespace n WHERE n.nspname = coalesce(?, current_schema())
			""";

	private final JdbcTemplate jdbcTemplate;

	/**
	 * Create a check.
	 * @param ddlDataSource where zdm's DDL sessions are opened
	 */
	DdlRole(DataSource ddlDataSource) {
		this.jdbcTemplate = new JdbcTemplate(ddlDataSource);
	}

	/**
	 * Say what the role that runs zdm's DDL may not do that the migration's DDL needs.
	 * @param migration the migration, its tables resolved
	 * @return {@code null} if it may do all of it, else what it lacks
	 */
	@Nullable String lacking(MigrationDefinition migration) {
		// a table and its target in one schema would name the schema twice
		Set<String> lacking = new LinkedHashSet<>();
		// a function beside the table: the sync trigger's, or the cross-table contract's
		// guard
		boolean functions = migration.isCrossTable() || migration.sync() == SyncMode.TRIGGER;
		table(migration.table(), functions, lacking);
		TableName target = migration.targetTable();
		// an existing target table is the scripts' to alter, if they do (a statement then
		// refused says so); one the expand creates needs CREATE in its schema
		if (target != null && Boolean.TRUE.equals(this.jdbcTemplate
			.queryForObject("/* zdm */ SELECT to_regclass(?) IS NULL", Boolean.class, target.quoted()))) {
			SqlIdentifier schema = target.schema();
			for (Map<String, Object> row : this.jdbcTemplate.queryForList(SCHEMA,
					(schema != null) ? schema.name() : null)) {
				if (!Boolean.TRUE.equals(row.get("creates"))) {
					lacking.add("may not create table " + target + " in schema " + row.get("schema"));
				}
			}
		}
		if (lacking.isEmpty()) {
			return null;
		}
		return "the role '" + name() + "' that runs zdm's DDL " + String.join(", and ", lacking);
	}

	// what the role lacks on the table and its schema
	private void table(TableName table, boolean functions, Set<String> lacking) {
		List<Map<String, Object>> rows = this.jdbcTemplate.queryForList(TABLE, table.quoted());
		if (rows.isEmpty()) {
			return;
		}
		Map<String, Object> row = rows.get(0);
		if (!Boolean.TRUE.equals(row.get("owns"))) {
			lacking.add("does not own table " + table + " (its owner is '" + row.get("owner")
					+ "'; ALTER TABLE takes the owner or a member of its role)");
		}
		if (functions && !Boolean.TRUE.equals(row.get("creates"))) {
			lacking.add("may not create in schema " + row.get("schema") + " (zdm's sync and guard functions go there)");
		}
	}

	/**
	 * Return the role that runs zdm's DDL.
	 * @return its name
	 */
	String name() {
		return Objects.requireNonNull(this.jdbcTemplate.queryForObject("/* zdm */ SELECT current_user", String.class));
	}

	/**
	 * What to do about what {@link #lacking(MigrationDefinition)} found.
	 * @return the action
	 */
	static String action() {
		return "Let the role that runs zdm's DDL alter the table, as the description names them: run zdm's DDL as "
				+ "the table's owner (zdm.ddl.user and zdm.ddl.password; spring.flyway.user and spring.flyway.password "
				+ "are used when those are set), or give the table back to the role that runs it (ALTER TABLE ... "
				+ "OWNER TO it), or grant that role the owner's role (GRANT <owner> TO <that role>), and CREATE on the "
				+ "table's schema where the description says it lacks it (docs/configuration.md, \"Database roles\").";
	}

}
