package dev.zdm.internal.fleet;

import java.sql.Timestamp;
import java.util.List;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Records every operator action on a migration ({@code zdm_operator_action}) and reads
 * the most recent ones.
 */
public class OperatorActionRepository {

	private static final String RECORD = """
			/* zdm */ INSERT INTO zdm_operator_action (migration_id, action, principal, instance_id, reason, acted_at)
			VALUES (?, ?, ?, ?, ?, ?)
			""";

	private static final String RECENT = """
			/* zdm */ SELECT action, principal, instance_id, reason, acted_at FROM zdm_operator_action
			WHERE migration_id = ? ORDER BY acted_at DESC, action_id DESC LIMIT ?
			""";

	private final JdbcTemplate jdbcTemplate;

	private final ZdmTables tables;

	/**
	 * Create a repository on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public OperatorActionRepository(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a repository.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public OperatorActionRepository(DataSource dataSource, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.tables = tables;
	}

	/**
	 * Record an action.
	 * @param migrationId the migration it acted on
	 * @param action the action
	 */
	public void record(String migrationId, OperatorAction action) {
		this.jdbcTemplate.update(this.tables.qualify(RECORD), migrationId, action.action(), action.principal(),
				action.instanceId(), action.reason(), Timestamp.from(action.actedAt()));
	}

	/**
	 * Return the most recent actions on a migration.
	 * @param migrationId the migration
	 * @param limit how many at most
	 * @return the actions, most recent first
	 */
	public List<OperatorAction> recent(String migrationId, int limit) {
		return this.jdbcTemplate.query(this.tables.qualify(RECENT),
				(rs, row) -> new OperatorAction(rs.getString("action"), rs.getString("principal"),
						rs.getString("instance_id"), rs.getString("reason"), rs.getTimestamp("acted_at").toInstant()),
				migrationId, limit);
	}

}
