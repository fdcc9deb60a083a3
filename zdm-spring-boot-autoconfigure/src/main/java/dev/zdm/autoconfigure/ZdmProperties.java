package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Configuration properties for zdm's zero-downtime migrations.
 */
@ConfigurationProperties("zdm")
public class ZdmProperties {

	/**
	 * Whether to enable zero-downtime migrations.
	 */
	private boolean enabled = true;

	/**
	 * Id of this instance in the fleet registry. Defaults to the application name, host,
	 * process id and a random suffix.
	 */
	private @Nullable String instanceId;

	/**
	 * Version of the application shown in the fleet registry. Defaults to the build's
	 * version when known.
	 */
	private @Nullable String applicationVersion;

	/**
	 * Schema of zdm's own tables (zdm_migration, zdm_instance, ...), created if missing.
	 * Defaults to the connection's current schema.
	 */
	private @Nullable String schema;

	/**
	 * Name of the DataSource bean zdm runs on when the application has several. Defaults
	 * to the single DataSource bean, or the primary one.
	 */
	private @Nullable String dataSource;

	private final Fleet fleet = new Fleet();

	private final Ddl ddl = new Ddl();

	private final Locks locks = new Locks();

	private final Health health = new Health();

	/**
	 * Declared migrations, by id.
	 */
	private Map<String, ZdmMigrationProperties> migrations = new LinkedHashMap<>();

	public boolean isEnabled() {
		return this.enabled;
	}

	public void setEnabled(boolean enabled) {
		this.enabled = enabled;
	}

	public @Nullable String getInstanceId() {
		return this.instanceId;
	}

	public void setInstanceId(@Nullable String instanceId) {
		this.instanceId = instanceId;
	}

	public @Nullable String getApplicationVersion() {
		return this.applicationVersion;
	}

	public void setApplicationVersion(@Nullable String applicationVersion) {
		this.applicationVersion = applicationVersion;
	}

	public @Nullable String getSchema() {
		return this.schema;
	}

	public void setSchema(@Nullable String schema) {
		this.schema = schema;
	}

	public @Nullable String getDataSource() {
		return this.dataSource;
	}

	public void setDataSource(@Nullable String dataSource) {
		this.dataSource = dataSource;
	}

	public Fleet getFleet() {
		return this.fleet;
	}

	public Ddl getDdl() {
		return this.ddl;
	}

	public Locks getLocks() {
		return this.locks;
	}

	public Health getHealth() {
		return this.health;
	}

	public Map<String, ZdmMigrationProperties> getMigrations() {
		return this.migrations;
	}

	public void setMigrations(Map<String, ZdmMigrationProperties> migrations) {
		this.migrations = migrations;
	}

	/**
	 * Health contributor settings.
	 */
	public static class Health {

		/**
		 * How long a DDL statement may keep timing out on its lock before the health
		 * details report it.
		 */
		private Duration ddlBlockedThreshold = Duration.ofMinutes(1);

		/**
		 * How long a phase may be held back behind the requested one before the health
		 * details report it.
		 */
		private Duration heldBackThreshold = Duration.ofHours(1);

		public Duration getDdlBlockedThreshold() {
			return this.ddlBlockedThreshold;
		}

		public void setDdlBlockedThreshold(Duration ddlBlockedThreshold) {
			this.ddlBlockedThreshold = ddlBlockedThreshold;
		}

		public Duration getHeldBackThreshold() {
			return this.heldBackThreshold;
		}

		public void setHeldBackThreshold(Duration heldBackThreshold) {
			this.heldBackThreshold = heldBackThreshold;
		}

	}

	/**
	 * Fleet registry settings.
	 */
	public static class Fleet {

		/**
		 * How often an instance heartbeats and recomputes its effective phases.
		 */
		private Duration heartbeatInterval = Duration.ofSeconds(5);

		/**
		 * How long after its last heartbeat an instance drops out of the fleet. At least
		 * twice the heartbeat interval.
		 */
		private Duration timeout = Duration.ofSeconds(30);

		/**
		 * How long a starting instance waits for instances more than one phase ahead of
		 * it to step back.
		 */
		private Duration joinTimeout = Duration.ofSeconds(30);

		/**
		 * How long an instance that stopped heartbeating stays listed in the registry.
		 */
		private Duration retention = Duration.ofHours(1);

		/**
		 * Maximum number of backfills (copy or verification) running at once on the
		 * database across the fleet; more wait in a queue shown in the endpoint. One at a
		 * time per table whatever this says.
		 */
		private int maxConcurrentBackfills = 2;

		public Duration getHeartbeatInterval() {
			return this.heartbeatInterval;
		}

		public void setHeartbeatInterval(Duration heartbeatInterval) {
			this.heartbeatInterval = heartbeatInterval;
		}

		public Duration getTimeout() {
			return this.timeout;
		}

		public void setTimeout(Duration timeout) {
			this.timeout = timeout;
		}

		public Duration getJoinTimeout() {
			return this.joinTimeout;
		}

		public void setJoinTimeout(Duration joinTimeout) {
			this.joinTimeout = joinTimeout;
		}

		public Duration getRetention() {
			return this.retention;
		}

		public void setRetention(Duration retention) {
			this.retention = retention;
		}

		public int getMaxConcurrentBackfills() {
			return this.maxConcurrentBackfills;
		}

		public void setMaxConcurrentBackfills(int maxConcurrentBackfills) {
			this.maxConcurrentBackfills = maxConcurrentBackfills;
		}

	}

	/**
	 * Lock-safe DDL settings, for the expand and contract steps.
	 */
	public static class Ddl {

		/**
		 * How long a DDL statement waits for a lock before it gives up and is retried.
		 * The application's queries queued behind the statement wait no longer than this.
		 */
		private Duration lockTimeout = Duration.ofMillis(100);

		/**
		 * Whether a '-- zdm:allow <code>' comment that accepts an unsafe statement must
		 * give a reason after the code and a colon ('-- zdm:allow <code>: <reason>'); a
		 * bare one is refused at start-up.
		 */
		private boolean requireAllowReason;

		/**
		 * How long a DDL statement may run. 0 for no limit.
		 */
		private Duration statementTimeout = Duration.ZERO;

		/**
		 * Maximum number of attempts of a DDL statement that times out waiting for a
		 * lock, for the contract and the expand at start-up; the expand in the background
		 * retries until it gets its lock.
		 */
		private int maxAttempts = 30;

		/**
		 * Pause before the first retry of a DDL statement; doubled for each further
		 * retry.
		 */
		private Duration initialBackoff = Duration.ofMillis(200);

		/**
		 * Longest pause between two attempts of a DDL statement.
		 */
		private Duration maxBackoff = Duration.ofSeconds(10);

		/**
		 * Random fraction of each pause between attempts, from 0 (none) to 1.
		 */
		private double jitter = 0.5;

		/**
		 * Whether the expand DDL runs at start-up, before the application serves, failing
		 * start-up after max-attempts, instead of in the background while the application
		 * serves through the old schema. For applications that need the new schema before
		 * they start, such as batch jobs.
		 */
		private boolean expandAtStartup;

		/**
		 * How long the expand DDL may stay pending on an instance before the health
		 * details and the zdm.ddl.expand.stalled meter report it as stalled.
		 */
		private Duration expandAlertAfter = Duration.ofMinutes(10);

		/**
		 * Login role zdm runs its DDL as (the expand, the contract, an abandon, the sync
		 * and guard triggers), on the database of its data source, when that is not the
		 * application's role: the tables' owner, where the application's role may only
		 * read and write rows. Defaults to spring.flyway.user when that is set.
		 */
		private @Nullable String user;

		/**
		 * Password of the DDL login role. Defaults to spring.flyway.password when the
		 * role is spring.flyway.user.
		 */
		private @Nullable String password;

		public @Nullable String getUser() {
			return this.user;
		}

		public void setUser(@Nullable String user) {
			this.user = user;
		}

		public @Nullable String getPassword() {
			return this.password;
		}

		public void setPassword(@Nullable String password) {
			this.password = password;
		}

		public boolean isExpandAtStartup() {
			return this.expandAtStartup;
		}

		public void setExpandAtStartup(boolean expandAtStartup) {
			this.expandAtStartup = expandAtStartup;
		}

		public Duration getExpandAlertAfter() {
			return this.expandAlertAfter;
		}

		public void setExpandAlertAfter(Duration expandAlertAfter) {
			this.expandAlertAfter = expandAlertAfter;
		}

		public boolean isRequireAllowReason() {
			return this.requireAllowReason;
		}

		public void setRequireAllowReason(boolean requireAllowReason) {
			this.requireAllowReason = requireAllowReason;
		}

		public Duration getLockTimeout() {
			return this.lockTimeout;
		}

		public void setLockTimeout(Duration lockTimeout) {
			this.lockTimeout = lockTimeout;
		}

		public Duration getStatementTimeout() {
			return this.statementTimeout;
		}

		public void setStatementTimeout(Duration statementTimeout) {
			this.statementTimeout = statementTimeout;
		}

		public int getMaxAttempts() {
			return this.maxAttempts;
		}

		public void setMaxAttempts(int maxAttempts) {
			this.maxAttempts = maxAttempts;
		}

		public Duration getInitialBackoff() {
			return this.initialBackoff;
		}

		public void setInitialBackoff(Duration initialBackoff) {
			this.initialBackoff = initialBackoff;
		}

		public Duration getMaxBackoff() {
			return this.maxBackoff;
		}

		public void setMaxBackoff(Duration maxBackoff) {
			this.maxBackoff = maxBackoff;
		}

		public double getJitter() {
			return this.jitter;
		}

		public void setJitter(double jitter) {
			this.jitter = jitter;
		}

	}

	/**
	 * Settings of the reports of sessions that hold locks.
	 */
	public static class Locks {

		/**
		 * Whether reports of blocking sessions (log, endpoint, zdm_ddl_blocker,
		 * exceptions) show their query text as it is, constants included. Off by default:
		 * constants are the application's data, such as card numbers or personal data,
		 * and are replaced by placeholders ($1, $2, ...). Turn on only to debug, for a
		 * short time.
		 */
		private boolean showQueryLiterals;

		public boolean isShowQueryLiterals() {
			return this.showQueryLiterals;
		}

		public void setShowQueryLiterals(boolean showQueryLiterals) {
			this.showQueryLiterals = showQueryLiterals;
		}

	}

}
