package dev.zdm.internal.ddl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.internal.ddl.script.ScriptObjects.DroppedColumn;
import dev.zdm.migration.MigrationDefinition;

/**
 * Holds a contract back while a column its scripts drop has objects depending on it that
 * the drop would not take along: a view, a generated column, another table's foreign key;
 * or owns a sequence the drop would take along, unless the scripts move or drop it.
 * PostgreSQL refuses such a {@code DROP COLUMN}, and by the time the scripts run zdm has
 * removed what kept the old column in step with the new one (the sync trigger), so what
 * depends on the old column would go stale while the contract failed and was retried.
 * Read before the contract is claimed, when nothing of it has run. Only reads.
 */
final class ContractDependents {

	// objects depending on the column in the way that makes DROP COLUMN (RESTRICT) fail:
	// not zdm's own triggers, which the contract drops first
	private static final String DEPENDENTS = """
			/* zdm */ SELECT CASE WHEN d.classid = 'pg_attrdef'::regclass THEN
			         (SELECT CASE WHEN a.attgenerated <> '' THEN 'generated column ' ELSE 'the default of column ' END
			                 || quote_ident(a.attname) || ' of ' || ad.adrelid::regclass
			          FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
			          WHERE ad.oid = d.objid)
			         ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END AS dependent,
			       CASE WHEN d.classid = 'pg_rewrite'::regclass THEN
			         (SELECT c.relname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
			       END AS view_name,
			       CASE WHEN d.classid = 'pg_class'::regclass AND d.objid = d.refobjid THEN
			         (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = d.objid AND a.attnum = d.objsubid)
			       WHEN d.classid = 'pg_attrdef'::regclass THEN
			         (SELECT a.attname FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid
			            AND a.attnum = ad.adnum WHERE ad.oid = d.objid AND ad.adrelid = d.refobjid)
			       END AS same_table_column
			FROM pg_depend d
			JOIN pg_attribute col ON col.attrelid = d.refobjid AND col.attnum = d.refobjsubid
			WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(?) AND col.attname = ?
			  AND d.deptype = 'n'
			  -- an object that also depends on the column automatically (a CHECK constraint, an
			  -- index, a foreign key of this table) goes with it: PostgreSQL drops it along
			  AND NOT EXISTS (SELECT 1 FROM pg_depend auto WHERE auto.classid = d.classid AND auto.objid = d.objid
			                    AND auto.refclassid = d.refclassid AND auto.refobjid = d.refobjid
			                    AND auto.refobjsubid = d.refobjsubid AND auto.deptype IN ('a', 'i'))
			  AND NOT (d.classid = 'pg_trigger'::regclass
			           AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = d.objid AND t.tgname LIKE 'zdm\\_%'))
			ORDER BY 1
			""";

	// the sequences the column owns (a serial, OWNED BY), which DROP COLUMN drops along:
	// their numbering, and a default of another column that reads them, go with it
	private static final String OWNED_SEQUENCES = """
			/* zdm */ SELECT s.relname AS sequence, d.objid::regclass::text AS sequence_sql,
			       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
			        FROM pg_depend u JOIN pg_attrdef ad ON u.classid = 'pg_attrdef'::regclass AND ad.oid = u.objid
			        JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
			        WHERE u.refclassid = 'pg_class'::regclass AND u.refobjid = d.objid AND ad.adrelid = d.refobjid
			          AND a.attnum <> d.refobjsubid) AS other_columns
			FROM pg_depend d
			JOIN pg_attribute col ON col.attrelid = d.refobjid AND col.attnum = d.refobjsubid
			JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
			WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
			  AND d.refobjid = to_regclass(?) AND col.attname = ? AND d.deptype = 'a'
			ORDER BY 1
			""";

	// the table's indexes on the column (a key column, an INCLUDE column, or one an
	// expression or a partial index's predicate reads), which DROP COLUMN drops along
	// without a word: not zdm's own (named zdm_...)
	private static final String INDEXES = """
			/* zdm */ SELECT ic.relname AS index_name, pg_get_indexdef(i.indexrelid) AS definition
			FROM pg_index i
			JOIN pg_class ic ON ic.oid = i.indexrelid
			JOIN pg_attribute col ON col.attrelid = i.indrelid AND col.attname = ?
			WHERE i.indrelid = to_regclass(?) AND ic.relname NOT LIKE 'zdm\\_%'
			  AND (col.attnum = ANY (i.indkey::int2[])
			       OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
			                    AND d.objid = i.indexrelid AND d.refclassid = 'pg_class'::regclass
			                    AND d.refobjid = i.indrelid AND d.refobjsubid = col.attnum))
			ORDER BY 1
			""";

	private final JdbcTemplate jdbcTemplate;

	ContractDependents(DataSource dataSource) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
	}

	// a contract that dropped a serial key's old column dropped its sequence with it: the
	// new key column was left without numbering, and every insert that left it to the
	// database failed
	private static String ownedSequence(DroppedColumn dropped, String sequence, @Nullable String otherColumns) {
		return "script " + dropped.script() + " drops column " + dropped.columnSql() + " of " + dropped.table()
				+ ", which owns sequence " + sequence + " (a serial column, or OWNED BY): DROP COLUMN drops the "
				+ "sequence with it, and the numbering of inserts that leave the key to the database"
				+ ((otherColumns != null) ? " (the default of " + otherColumns + " reads it, so the drop would fail)"
						: "")
				+ ". Move it to the column that stays before the DROP COLUMN, in the contract script: ALTER SEQUENCE "
				+ sequence + " OWNED BY " + dropped.table() + ".<new column>, with that column's default (ALTER TABLE "
				+ dropped.table() + " ALTER COLUMN <new column> SET DEFAULT nextval('" + sequence
				+ "')); or, if nothing needs its numbering, name it in the script after the DROP COLUMN: DROP SEQUENCE "
				+ "IF EXISTS " + sequence;
	}

	/**
	 * Say which indexes the contract's {@code DROP COLUMN}s drop along with their
	 * columns. PostgreSQL drops an index on a dropped column without a word, so a team's
	 * index on the old column (made by its own Flyway migration, say) is gone after the
	 * contract, and nothing made its equivalent on the new column unless the team did:
	 * the queries that used it scan the table from then on. It does not hold the contract
	 * back, since the drop runs and the index may be meant to go.
	 * @param migration the migration
	 * @param scripts its contract scripts
	 * @return what to tell, or {@code null} if no index goes with a dropped column
	 */
	@Nullable String indexesDroppedAlong(MigrationDefinition migration, List<DdlScript> scripts) {
		ScriptObjects objects = ScriptObjects.of(scripts);
		Map<String, String> indexes = new LinkedHashMap<>();
		for (DroppedColumn dropped : Stream
			.concat(objects.droppedColumns().stream(), objects.droppedWithCascade().stream())
			.toList()) {
			this.jdbcTemplate.query(INDEXES, (rs) -> {
				indexes.putIfAbsent(rs.getString("index_name"),
						"index " + rs.getString("index_name") + " (" + rs.getString("definition") + ") on column "
								+ dropped.columnSql() + " of " + dropped.table() + ", dropped by script "
								+ dropped.script());
			}, dropped.column(), dropped.table());
		}
		if (indexes.isEmpty()) {
			return null;
		}
		return "the contract of migration '" + migration.id() + "' drops " + String.join("; ", indexes.values())
				+ ": DROP COLUMN drops " + ((indexes.size() == 1) ? "an index" : "the indexes")
				+ " on the column with it, and nothing makes " + ((indexes.size() == 1) ? "its" : "their")
				+ " equivalent on the new column. If queries need one, create it on the new column before the "
				+ "contract (CREATE INDEX CONCURRENTLY in a Flyway migration or an expand script); the contract "
				+ "goes on either way";
	}

	/**
	 * Say why the contract must wait, if a column its scripts drop has dependents the
	 * scripts do not drop themselves (a view they drop, a column of the same table they
	 * drop).
	 * @param migration the migration
	 * @param scripts its contract scripts
	 * @return why, or {@code null} if every drop can run
	 */
	@Nullable String holdBack(MigrationDefinition migration, List<DdlScript> scripts) {
		ScriptObjects objects = ScriptObjects.of(scripts);
		List<String> droppedColumns = objects.droppedColumns().stream().map(DroppedColumn::column).toList();
		List<String> blocked = new ArrayList<>();
		List<String> sequences = new ArrayList<>();
		for (DroppedColumn dropped : objects.droppedColumns()) {
			List<String> dependents = this.jdbcTemplate.query(DEPENDENTS, (rs, row) -> {
				String view = rs.getString("view_name");
				String column = rs.getString("same_table_column");
				boolean droppedToo = (view != null && objects.droppedViews().contains(view))
						|| (column != null && droppedColumns.contains(column));
				return droppedToo ? null : rs.getString("dependent");
			}, dropped.table(), dropped.column()).stream().filter((dependent) -> dependent != null).toList();
			if (!dependents.isEmpty()) {
				blocked.add("script " + dropped.script() + " drops column " + dropped.columnSql() + " of "
						+ dropped.table() + ", on which " + String.join(", ", dependents)
						+ ((dependents.size() == 1) ? " depends" : " depend"));
			}
			this.jdbcTemplate.query(OWNED_SEQUENCES, (rs) -> {
				if (!objects.alteredOrDroppedSequences().contains(rs.getString("sequence"))) {
					sequences.add(ownedSequence(dropped, rs.getString("sequence_sql"), rs.getString("other_columns")));
				}
			}, dropped.table(), dropped.column());
		}
		if (blocked.isEmpty() && sequences.isEmpty()) {
			return null;
		}
		List<String> reasons = new ArrayList<>();
		if (!blocked.isEmpty()) {
			reasons.add(String.join("; ", blocked) + ". PostgreSQL would refuse the DROP COLUMN once zdm had "
					+ "removed what keeps the old side in step with the new (the sync trigger), and what depends on "
					+ "the old column would no longer follow the new one while the contract was retried. Drop or "
					+ "change the dependent first (in the contract script before the DROP COLUMN, or in a migration of "
					+ "its own), or add CASCADE to the DROP COLUMN if it may go with it");
		}
		reasons.addAll(sequences);
		return String.join("; ", reasons) + "; nothing of the contract of migration '" + migration.id()
				+ "' has run, and it starts once the scripts can run";
	}

}
