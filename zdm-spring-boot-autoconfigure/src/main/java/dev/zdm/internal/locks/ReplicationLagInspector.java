package dev.zdm.internal.locks;

import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Reads the replay lag of the streaming replicas from {@code pg_stat_replication}. The
 * lag columns are only shown to a role that has the privileges of
 * {@code pg_read_all_stats} (or is a superuser); for another role the lag cannot be read,
 * which is logged once, and the role's privileges are read again each minute, so that a
 * grant given later counts without a restart.
 */
public class ReplicationLagInspector {

	private static final Log logger = LogFactory.getLog(ReplicationLagInspector.class);

	private static final String CAN_READ = """
			/* zdm */ SELECT current_user AS role_name,
			       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS can_read
			""";

	private static final String REPLICAS = """
			/* zdm */ SELECT application_name, coalesce(host(client_addr), 'local') AS client, state,
			       extract(epoch FROM replay_lag) AS replay_lag_seconds
			FROM pg_stat_replication
			ORDER BY replay_lag DESC NULLS LAST
			""";

	private final JdbcTemplate jdbcTemplate;

	private volatile @Nullable Boolean readable;

	private volatile long checkedAt;

	private volatile Duration recheckAfter = Duration.ofMinutes(1);

	/**
	 * Create an inspector.
	 * @param dataSource the application's data source
	 */
	public ReplicationLagInspector(DataSource dataSource) {
		this.jdbcTemplate = new JdbcTemplate(dataSource);
	}

	/**
	 * Return the replicas and their replay lag, if this role may read them.
	 * @return the replicas, most lagging first, or {@link ReplicationLag#unreadable()} if
	 * the role cannot read their lag
	 */
	public ReplicationLag replicationLag() {
		if (!isReadable()) {
			return ReplicationLag.unreadable();
		}
		List<Replica> replicas = this.jdbcTemplate.query(REPLICAS, (rs, row) -> {
			double seconds = rs.getDouble("replay_lag_seconds");
			Duration lag = rs.wasNull() ? Duration.ZERO : Duration.ofNanos((long) (seconds * 1_000_000_000L));
			return new Replica(rs.getString("application_name"), rs.getString("client"), rs.getString("state"), lag);
		});
		return new ReplicationLag(true, replicas);
	}

	private boolean isReadable() {
		Boolean known = this.readable;
		if (known == null || (!known && System.nanoTime() - this.checkedAt > this.recheckAfter.toNanos())) {
			Boolean before = known;
			known = this.jdbcTemplate.queryForObject(CAN_READ, (rs, row) -> {
				boolean canRead = rs.getBoolean("can_read");
				String role = rs.getString("role_name");
				if (!canRead && before == null) {
					logger.warn("zdm: role '" + role + "' cannot read the replay lag of streaming replicas from "
							+ "pg_stat_replication, so backfills do not hold back for replication lag; "
							+ "GRANT pg_read_all_stats TO " + role + " to enable it (zdm reads the grant again "
							+ "each minute)");
				}
				else if (canRead && before != null) {
					logger.info("zdm: role '" + role + "' can read the replay lag of streaming replicas now: "
							+ "backfills hold back for replication lag");
				}
				return canRead;
			});
			this.checkedAt = System.nanoTime();
			this.readable = known;
		}
		return Boolean.TRUE.equals(known);
	}

	/**
	 * Read the role's privileges again after this time while it cannot read the lag,
	 * instead of a minute: for a test.
	 * @param recheckAfter the time
	 */
	void recheckAfter(Duration recheckAfter) {
		this.recheckAfter = recheckAfter;
	}

	/**
	 * The streaming replicas of the database, as {@code pg_stat_replication} shows them.
	 *
	 * @param readable whether this role may read their lag; if not, {@code replicas} is
	 * empty
	 * @param replicas the replicas, most lagging first
	 */
	public record ReplicationLag(boolean readable, List<Replica> replicas) {

		static ReplicationLag unreadable() {
			return new ReplicationLag(false, List.of());
		}

		/**
		 * Return the replica that lags most.
		 * @return the replica, or {@code null} if there is none
		 */
		public @Nullable Replica mostLagging() {
			return this.replicas.stream().max((a, b) -> a.replayLag().compareTo(b.replayLag())).orElse(null);
		}

	}

	/**
	 * One streaming replica.
	 *
	 * @param applicationName its {@code application_name}
	 * @param client its address, or {@code local}
	 * @param state its WAL sender's state, for example {@code streaming}
	 * @param replayLag how long ago the WAL it has replayed last was flushed here, or
	 * {@link Duration#ZERO} when it has caught up
	 */
	public record Replica(@Nullable String applicationName, @Nullable String client, @Nullable String state,
			Duration replayLag) {

	}

}
