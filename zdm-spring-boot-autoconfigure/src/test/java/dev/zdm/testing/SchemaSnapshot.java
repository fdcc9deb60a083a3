package dev.zdm.testing;

import java.util.List;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The database schema as PostgreSQL's catalog holds it, for tests that show that
 * something changed nothing: relations, columns, constraints, indexes, triggers and
 * functions outside the system schemas, zdm's included.
 */
public final class SchemaSnapshot {

	private static final String SNAPSHOT = """
			SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
			  AND n.nspname NOT LIKE 'pg_temp%'
			UNION ALL
			SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' ' || a.attgenerated::text
			FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
			  AND n.nspname NOT LIKE 'pg_temp%' AND a.attnum > 0 AND NOT a.attisdropped
			UNION ALL
			SELECT 'constraint ' || co.conrelid::regclass || '.' || co.conname || ' ' || pg_get_constraintdef(co.oid)
			FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
			UNION ALL
			SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
			FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
			UNION ALL
			SELECT 'trigger ' || t.tgrelid::regclass || '.' || t.tgname || ' ' || t.tgenabled::text
			FROM pg_trigger t WHERE NOT t.tgisinternal
			UNION ALL
			SELECT 'function ' || p.oid::regprocedure || ' ' || md5(p.prosrc)
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
			ORDER BY 1
			""";

	private SchemaSnapshot() {
	}

	public static List<String> of(JdbcTemplate jdbc) {
		return jdbc.queryForList(SNAPSHOT, String.class);
	}

	public static List<String> relations(JdbcTemplate jdbc, String prefix) {
		return of(jdbc).stream().filter((line) -> line.startsWith("relation public." + prefix)).toList();
	}

}
