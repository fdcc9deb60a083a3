package dev.zdm.internal.fleet;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.Phase;

/**
 * The fleet registry: which instances run which phase of each migration, and when each
 * last heartbeated. All times are the database's, so the instances' clocks do not matter.
 * Every statement on {@code zdm_instance} is here.
 */
public class FleetRegistry {

	private static final String LOCK_MIGRATION = "/* zdm */ SELECT pg_advisory_xact_lock(hashtext('zdm.fleet'), hashtext(?))";

	private static final String MEMBERS = """
			/* zdm */ SELECT instance_id, migration_id, requested_phase, effective_phase, held_back_reason,
			       application_version, host, pid, started_at, heartbeat_at,
			       heartbeat_at > now() - make_interval(secs => ?) AS live
			FROM zdm_instance
			WHERE migration_id = ? AND left_at IS NULL
			ORDER BY started_at, instance_id
			""";

	private static final String LEFT_RECENTLY = """
			/* zdm */ SELECT instance_id, migration_id, requested_phase, effective_phase, held_back_reason,
			       application_version, host, pid, started_at, heartbeat_at, false AS live
			FROM zdm_instance
			WHERE migration_id = ? AND left_at > now() - make_interval(secs => ?)
			ORDER BY started_at, instance_id
			""";

	private static final String UPSERT = """
			/* zdm */ INSERT INTO zdm_instance (instance_id, migration_id, requested_phase, effective_phase, held_back_reason,
			                          application_version, host, pid, started_at, heartbeat_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), now())
			ON CONFLICT (instance_id, migration_id) DO UPDATE
			SET requested_phase = excluded.requested_phase,
			    effective_phase = excluded.effective_phase,
			    held_back_reason = excluded.held_back_reason,
			    application_version = excluded.application_version,
			    host = excluded.host,
			    pid = excluded.pid,
			    -- another process under the id (a restart that keeps its id): it started now
			    started_at = CASE WHEN zdm_instance.left_at IS NOT NULL OR zdm_instance.pid <> excluded.pid
			                        OR zdm_instance.host IS DISTINCT FROM excluded.host
			                      THEN now() ELSE zdm_instance.started_at END,
			    heartbeat_at = now(),
			    left_at = NULL
			RETURNING heartbeat_at
			""";

	private static final String REMOVE_INSTANCE = "/* zdm */ DELETE FROM zdm_instance WHERE instance_id = ?";

	private static final String LEAVE = "/* zdm */ UPDATE zdm_instance SET left_at = now() WHERE instance_id = ? AND left_at IS NULL";

	private static final String PURGE = "/* zdm */ DELETE FROM zdm_instance WHERE heartbeat_at < now() - make_interval(secs => ?)";

	private final JdbcTemplate jdbcTemplate;

	private final ZdmTables tables;

	/**
	 * Create a registry on zdm's tables in the connection's current schema.
	 * @param dataSource the application's data source
	 */
	public FleetRegistry(DataSource dataSource) {
		this(dataSource, ZdmTables.DEFAULT);
	}

	/**
	 * Create a registry.
	 * @param dataSource the application's data source
	 * @param tables where zdm's tables are
	 */
	public FleetRegistry(DataSource dataSource, ZdmTables tables) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
		this.tables = tables;
	}

	/**
	 * Return every registered instance of a migration, live or not.
	 * @param migrationId the migration
	 * @param timeout how long since its last heartbeat an instance still counts as live
	 * @return the members, oldest first
	 */
	public List<FleetMember> members(String migrationId, Duration timeout) {
		return this.jdbcTemplate.query(this.tables.qualify(MEMBERS), FleetRegistry::member, seconds(timeout),
				migrationId);
	}

	/**
	 * Lock the migration's fleet until the current transaction ends, and return its live
	 * members. Every decision about a migration's phases is taken under this lock, so
	 * that no instance joins or changes phase while another decides from the same
	 * members; call it in a transaction.
	 * @param migrationId the migration
	 * @param timeout how long since its last heartbeat an instance still counts as live
	 * @return the live members, oldest first
	 */
	public List<FleetMember> lockLiveMembers(String migrationId, Duration timeout) {
		this.jdbcTemplate.query(LOCK_MIGRATION, (rs) -> {
		}, migrationId);
		return members(migrationId, timeout).stream().filter(FleetMember::live).toList();
	}

	/**
	 * Lock the migration's fleet until the current transaction ends, as
	 * {@link #lockLiveMembers(String, Duration)}, and return its live members followed by
	 * those that left the fleet gracefully less than the timeout ago (not live): a step
	 * that cannot be undone waits for an instance that left behind it as for one that
	 * died, since an instance stopped to be restarted comes back at the phase it is
	 * deployed with, which may be the one before.
	 * @param migrationId the migration
	 * @param timeout how long since its last heartbeat an instance still counts as live,
	 * and since it left as one that may come back
	 * @return the live members, oldest first, then those that left
	 */
	public List<FleetMember> lockLiveAndRecentlyLeftMembers(String migrationId, Duration timeout) {
		List<FleetMember> members = new ArrayList<>(lockLiveMembers(migrationId, timeout));
		members.addAll(this.jdbcTemplate.query(this.tables.qualify(LEFT_RECENTLY), FleetRegistry::member, migrationId,
				seconds(timeout)));
		return members;
	}

	/**
	 * Register an instance's phases for a migration, or refresh them, and record a
	 * heartbeat.
	 * @param instance the instance
	 * @param migrationId the migration
	 * @param requested the requested phase
	 * @param effective the effective phase
	 * @param heldBackReason why the effective phase is behind the requested one, if it is
	 * @return the heartbeat's time as written, in database time: a later read of the row
	 * that finds another was written by another process under the same instance id
	 */
	public Instant heartbeat(InstanceInfo instance, String migrationId, Phase requested, Phase effective,
			@Nullable String heldBackReason) {
		Instant written = this.jdbcTemplate.queryForObject(this.tables.qualify(UPSERT),
				(rs, row) -> instant(rs.getTimestamp(1)), instance.instanceId(), migrationId, requested.value(),
				effective.value(), heldBackReason, instance.applicationVersion(), instance.host(), instance.pid());
		return Objects.requireNonNull(written);
	}

	/**
	 * Take an instance out of the fleet of every migration at once, as on a graceful
	 * shutdown: it is no member from now on, but a step that cannot be undone waits for
	 * it for the fleet timeout ({@link #lockLiveAndRecentlyLeftMembers}). Its rows are
	 * kept until they are purged, or taken back if it heartbeats again under the same id.
	 * @param instanceId the instance
	 */
	public void leave(String instanceId) {
		this.jdbcTemplate.update(this.tables.qualify(LEAVE), instanceId);
	}

	/**
	 * Remove an instance from the fleet of every migration, leaving nothing behind, as
	 * when its start-up is refused before it served.
	 * @param instanceId the instance
	 */
	public void remove(String instanceId) {
		this.jdbcTemplate.update(this.tables.qualify(REMOVE_INSTANCE), instanceId);
	}

	/**
	 * Forget instances whose last heartbeat is older than the retention.
	 * @param retention how long a stopped instance stays listed
	 * @return the number of rows removed
	 */
	public int purge(Duration retention) {
		return this.jdbcTemplate.update(this.tables.qualify(PURGE), seconds(retention));
	}

	private static double seconds(Duration duration) {
		return duration.toNanos() / 1_000_000_000.0;
	}

	private static FleetMember member(ResultSet rs, int row) throws SQLException {
		return new FleetMember(rs.getString("instance_id"), rs.getString("migration_id"),
				phase(rs.getString("requested_phase")), phase(rs.getString("effective_phase")),
				rs.getString("held_back_reason"), rs.getString("application_version"), rs.getString("host"),
				rs.getLong("pid"), instant(rs.getTimestamp("started_at")), instant(rs.getTimestamp("heartbeat_at")),
				rs.getBoolean("live"));
	}

	private static Phase phase(String value) {
		Phase phase = Phase.fromValue(value);
		if (phase == null) {
			throw new IllegalStateException("Unknown phase '" + value + "' in zdm_instance");
		}
		return phase;
	}

	private static java.time.Instant instant(Timestamp timestamp) {
		return timestamp.toInstant();
	}

}
