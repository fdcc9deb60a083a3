package dev.zdm.internal.backfill;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.QueryText;

/**
 * Reads and writes the final contract check ({@code zdm_contract_check}), and finds the
 * sessions that write a migration's tables ({@code pg_stat_activity}, {@code pg_locks}).
 * Every such statement is here; those on the migration's own tables are in
 * {@link BackfillStatements}.
 */
public class ContractCheckRepository {

	private static final String FIND = """
			/* zdm */ SELECT migration_id, held, checked_at, checked_by, rows_checked, rows_disagreeing, sample, writers, reason,
			       recheck_requested, override_reason
			FROM zdm_contract_check WHERE migration_id = ?
			""";

	private static final String SAVE = """
			/* zdm */ INSERT INTO zdm_contract_check (migration_id, held, checked_at, checked_by, rows_checked, rows_disagreeing,
			                                sample, writers, reason, recheck_requested, override_reason)
			VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, false, NULL)
			ON CONFLICT (migration_id) DO UPDATE
			SET held = EXCLUDED.held, checked_at = EXCLUDED.checked_at, checked_by = EXCLUDED.checked_by,
			    rows_checked = EXCLUDED.rows_checked, rows_disagreeing = EXCLUDED.rows_disagreeing,
			    sample = EXCLUDED.sample, writers = EXCLUDED.writers, reason = EXCLUDED.reason,
			    recheck_requested = false, override_reason = NULL
			""";

	private static final String REQUEST_RECHECK = """
			/* zdm */ UPDATE zdm_contract_check SET recheck_requested = true WHERE migration_id = ? AND held
			""";

	private static final String OVERRIDE = """
			/* zdm */ UPDATE zdm_contract_check SET override_reason = ? WHERE migration_id = ? AND held
			""";

	// Sessions of this database, other than this one, that hold a row lock on one of the
	// tables now (writing in an open transaction), or whose current or last statement
	// writes a table of that name. Sessions of another application name than this
	// instance's first.
	private static final String WRITERS = """
			/* zdm */ SELECT a.pid, a.state, a.application_name, a.usename, host(a.client_addr) AS client,
			       extract(epoch FROM clock_timestamp() - a.state_change) AS state_seconds, left(a.query, 1000) AS query,
			       EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.mode = 'RowExclusiveLock'
			               AND l.relation = ANY (SELECT to_regclass(t) FROM unnest(?::text[]) AS t)) AS writing,
			       a.application_name IS NOT DISTINCT FROM current_setting('application_name') AS same_application
			FROM pg_stat_activity a
			WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
			  AND a.query NOT LIKE '/* zdm */%'
			  AND (EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.mode = 'RowExclusiveLock'
			               AND l.relation = ANY (SELECT to_regclass(t) FROM unnest(?::text[]) AS t))
			       OR (a.query ~* '^\\s*(with|insert|update|delete|merge|copy)\\M'
			           AND EXISTS (SELECT 1 FROM unnest(?::text[]) AS n WHERE strpos(lower(a.query), lower(n)) > 0)))
			ORDER BY same_application, writing DESC, a.state_change DESC
			LIMIT ?
			""";

	private final JdbcTemplate jdbcTemplate;

	private final boolean showQueryLiterals;

	private final ZdmTables tables;

	/**
	 * Create a repository on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 * @param showQueryLiterals whether to show other sessions' queries with their
	 * constants, rather than {@link QueryText#normalize normalized}
	 */
	public ContractCheckRepository(DataSource dataSource, boolean showQueryLiterals) {
		this(dataSource, showQueryLiterals, ZdmTables.DEFAULT);
	}

	/**
	 * Create a repository.
	 * @param dataSource the application's data source
	 * @param showQueryLiterals whether to show other sessions' queries with their
	 * constants, rather than {@link QueryText#normalize normalized}
	 * @param tables where zdm's tables are
	 */
	public ContractCheckRepository(DataSource dataSource, boolean showQueryLiterals, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.showQueryLiterals = showQueryLiterals;
		this.tables = tables;
	}

	JdbcTemplate jdbcTemplate() {
		return this.jdbcTemplate;
	}

	/**
	 * Return the latest check of a migration.
	 * @param migrationId the migration
	 * @return the check, or {@code null} if none ran
	 */
	public @Nullable ContractCheck find(String migrationId) {
		List<ContractCheck> found = this.jdbcTemplate.query(this.tables.qualify(FIND), this::check, migrationId);
		return found.isEmpty() ? null : found.get(0);
	}

	void save(ContractCheck check) {
		this.jdbcTemplate.update(this.tables.qualify(SAVE), check.migrationId(), check.held(), check.checkedBy(),
				check.rowsChecked(), check.rowsDisagreeing(), String.join("\n", check.rows()),
				String.join("\n", check.writers()), check.reason());
	}

	boolean requestRecheck(String migrationId) {
		return this.jdbcTemplate.update(this.tables.qualify(REQUEST_RECHECK), migrationId) > 0;
	}

	boolean override(String migrationId, String reason) {
		return this.jdbcTemplate.update(this.tables.qualify(OVERRIDE), reason, migrationId) > 0;
	}

	/**
	 * Describe the sessions that write one of the tables, or wrote one last, but zdm's
	 * own (their statements begin with zdm's comment marker, as the repair's upsert
	 * does).
	 * @param tables the tables, qualified as text
	 * @param names the tables' names, as they appear in queries
	 * @param limit how many sessions at most
	 * @return one line per session; empty if none is seen or {@code pg_stat_activity} is
	 * not readable
	 */
	List<String> writers(List<String> tables, List<String> names, int limit) {
		String[] qualified = tables.toArray(String[]::new);
		return this.jdbcTemplate.query(WRITERS, (rs, row) -> describeWriter(rs), qualified, qualified,
				names.toArray(String[]::new), limit);
	}

	private String describeWriter(ResultSet rs) throws SQLException {
		String query = rs.getString("query");
		String shown = (this.showQueryLiterals || query == null) ? query : QueryText.normalize(query);
		shown = (shown != null) ? shown.replaceAll("\\s+", " ").strip() : null;
		String client = rs.getString("client");
		return "pid " + rs.getInt("pid") + " (" + rs.getString("state") + " for "
				+ Duration.ofMillis(Math.round(rs.getDouble("state_seconds") * 1000)) + ", application '"
				+ rs.getString("application_name") + "', user " + rs.getString("usename")
				+ ((client != null) ? ", from " + client : "") + (rs.getBoolean("writing") ? ", writing now" : "")
				+ (rs.getBoolean("same_application") ? ", same application name as this instance" : "") + "): " + shown;
	}

	private ContractCheck check(ResultSet rs, int row) throws SQLException {
		return new ContractCheck(rs.getString("migration_id"), rs.getBoolean("held"),
				rs.getTimestamp("checked_at").toInstant(), rs.getString("checked_by"), rs.getLong("rows_checked"),
				rs.getLong("rows_disagreeing"), lines(rs.getString("sample")), lines(rs.getString("writers")),
				rs.getString("reason"), rs.getBoolean("recheck_requested"), rs.getString("override_reason"));
	}

	private static List<String> lines(@Nullable String text) {
		return (text == null || text.isEmpty()) ? List.of() : Arrays.asList(text.split("\n"));
	}

}
