package dev.zdm.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
	private Map<String, Migration> migrations = new LinkedHashMap<>();

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

	public Map<String, Migration> getMigrations() {
		return this.migrations;
	}

	public void setMigrations(Map<String, Migration> migrations) {
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
		 * lock.
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

	/**
	 * One migration's declaration.
	 */
	public static class Migration {

		/**
		 * Phase this instance requests: expand, dual-write, backfill, read-new or
		 * contract; or abandon, to take a migration that has not contracted back to where
		 * it started.
		 */
		private String phase = "expand";

		/**
		 * Table the migration changes, optionally qualified by its schema. For a
		 * migration into another table, the source table.
		 */
		private @Nullable String table;

		/**
		 * Table the data moves into, optionally qualified by its schema. Its presence
		 * makes the migration a cross-table one: up expressions then derive the target
		 * table's columns from the source row.
		 */
		private @Nullable String targetTable;

		/**
		 * Name of the DataSource bean of the database the migration's tables are in.
		 * Migrations of another database than zdm's own (zdm.data-source) run on an
		 * engine of their own there, with its own fleet and zdm tables.
		 */
		private @Nullable String dataSource;

		/**
		 * Columns of the target table holding the source row's key, in the order of the
		 * key's columns; unique together in the target table. Defaults to the names of
		 * the source table's key columns.
		 */
		private List<String> targetKey = new ArrayList<>();

		/**
		 * Key columns used to walk the table. Defaults to the primary key.
		 */
		private List<String> key = new ArrayList<>();

		/**
		 * New columns, each with the SQL expression over the old columns that derives it.
		 */
		private Map<String, String> up = new LinkedHashMap<>();

		/**
		 * Old columns, each with the SQL expression over the new columns that derives it.
		 */
		private Map<String, String> down = new LinkedHashMap<>();

		/**
		 * Locations of the expand scripts, run at start-up before the instance serves
		 * traffic.
		 */
		private List<String> expand = new ArrayList<>();

		/**
		 * Locations of the contract scripts, run once when every live instance is at
		 * contract.
		 */
		private List<String> contract = new ArrayList<>();

		/**
		 * Locations of the abandon scripts, which undo what the expand scripts did when
		 * the migration is abandoned; only needed when zdm cannot reverse an expand
		 * script by itself.
		 */
		private List<String> abandon = new ArrayList<>();

		/**
		 * Why the migration is abandoned; required with phase abandon, and recorded with
		 * it.
		 */
		private @Nullable String abandonReason;

		/**
		 * Codes of unsafe DDL operations to allow in all of this migration's scripts, for
		 * example create-index.
		 */
		private List<String> allowUnsafe = new ArrayList<>();

		/**
		 * How the side that is not the source of truth is kept in sync: trigger
		 * (same-table migrations) or repositories (data moving into another table).
		 * Defaults to trigger when up expressions are declared for a migration inside one
		 * table, and to repositories for a migration into another table.
		 */
		private @Nullable String sync;

		/**
		 * Whether this instance leaves the migration's expand DDL alone: it does not
		 * start or take it over, and the migration stays at expand on this instance until
		 * another instance has run it.
		 */
		private boolean expandPaused;

		/**
		 * Columns to add with the expand step, each with its SQL type and an optional
		 * default that is not volatile.
		 */
		private Map<String, Column> columns = new LinkedHashMap<>();

		/**
		 * Indexes to build concurrently with the expand step, each with its columns.
		 */
		private Map<String, List<String>> indexes = new LinkedHashMap<>();

		private final Constraints constraints = new Constraints();

		private final Backfill backfill = new Backfill();

		public Map<String, Column> getColumns() {
			return this.columns;
		}

		public void setColumns(Map<String, Column> columns) {
			this.columns = columns;
		}

		public Map<String, List<String>> getIndexes() {
			return this.indexes;
		}

		public void setIndexes(Map<String, List<String>> indexes) {
			this.indexes = indexes;
		}

		public Constraints getConstraints() {
			return this.constraints;
		}

		public boolean isExpandPaused() {
			return this.expandPaused;
		}

		public void setExpandPaused(boolean expandPaused) {
			this.expandPaused = expandPaused;
		}

		public String getPhase() {
			return this.phase;
		}

		public void setPhase(String phase) {
			this.phase = phase;
		}

		public @Nullable String getTable() {
			return this.table;
		}

		public void setTable(@Nullable String table) {
			this.table = table;
		}

		public @Nullable String getDataSource() {
			return this.dataSource;
		}

		public void setDataSource(@Nullable String dataSource) {
			this.dataSource = dataSource;
		}

		public @Nullable String getTargetTable() {
			return this.targetTable;
		}

		public void setTargetTable(@Nullable String targetTable) {
			this.targetTable = targetTable;
		}

		public List<String> getTargetKey() {
			return this.targetKey;
		}

		public void setTargetKey(List<String> targetKey) {
			this.targetKey = targetKey;
		}

		public List<String> getKey() {
			return this.key;
		}

		public void setKey(List<String> key) {
			this.key = key;
		}

		public Map<String, String> getUp() {
			return this.up;
		}

		public void setUp(Map<String, String> up) {
			this.up = up;
		}

		public Map<String, String> getDown() {
			return this.down;
		}

		public void setDown(Map<String, String> down) {
			this.down = down;
		}

		public List<String> getExpand() {
			return this.expand;
		}

		public void setExpand(List<String> expand) {
			this.expand = expand;
		}

		public List<String> getContract() {
			return this.contract;
		}

		public void setContract(List<String> contract) {
			this.contract = contract;
		}

		public List<String> getAbandon() {
			return this.abandon;
		}

		public void setAbandon(List<String> abandon) {
			this.abandon = abandon;
		}

		public @Nullable String getAbandonReason() {
			return this.abandonReason;
		}

		public void setAbandonReason(@Nullable String abandonReason) {
			this.abandonReason = abandonReason;
		}

		public List<String> getAllowUnsafe() {
			return this.allowUnsafe;
		}

		public void setAllowUnsafe(List<String> allowUnsafe) {
			this.allowUnsafe = allowUnsafe;
		}

		public @Nullable String getSync() {
			return this.sync;
		}

		public void setSync(@Nullable String sync) {
			this.sync = sync;
		}

		public Backfill getBackfill() {
			return this.backfill;
		}

	}

	/**
	 * A column a migration declares, added with the expand step.
	 */
	public static class Column {

		/**
		 * SQL type of the column, for example text or numeric(10,2).
		 */
		private @Nullable String type;

		/**
		 * Default of the column, an SQL expression that is not volatile so that the table
		 * is not rewritten, for example 'new' (quoted) or 0.
		 */
		private @Nullable String defaultValue;

		public @Nullable String getType() {
			return this.type;
		}

		public void setType(@Nullable String type) {
			this.type = type;
		}

		public @Nullable String getDefault() {
			return this.defaultValue;
		}

		public void setDefault(@Nullable String defaultValue) {
			this.defaultValue = defaultValue;
		}

	}

	/**
	 * Constraints a migration declares, added with the contract step in the lock-safe
	 * way.
	 */
	public static class Constraints {

		/**
		 * Columns to make NOT NULL: a NOT VALID check, validated, then SET NOT NULL.
		 */
		private List<String> notNull = new ArrayList<>();

		/**
		 * Check constraints, each name with its boolean SQL expression: added NOT VALID,
		 * then validated.
		 */
		private Map<String, String> checks = new LinkedHashMap<>();

		/**
		 * Foreign keys by name: added NOT VALID, then validated.
		 */
		private Map<String, ForeignKey> foreignKeys = new LinkedHashMap<>();

		/**
		 * Unique constraints, each name with its columns: the index is built
		 * concurrently, then the constraint added over it.
		 */
		private Map<String, List<String>> unique = new LinkedHashMap<>();

		public List<String> getNotNull() {
			return this.notNull;
		}

		public void setNotNull(List<String> notNull) {
			this.notNull = notNull;
		}

		public Map<String, String> getChecks() {
			return this.checks;
		}

		public void setChecks(Map<String, String> checks) {
			this.checks = checks;
		}

		public Map<String, ForeignKey> getForeignKeys() {
			return this.foreignKeys;
		}

		public void setForeignKeys(Map<String, ForeignKey> foreignKeys) {
			this.foreignKeys = foreignKeys;
		}

		public Map<String, List<String>> getUnique() {
			return this.unique;
		}

		public void setUnique(Map<String, List<String>> unique) {
			this.unique = unique;
		}

	}

	/**
	 * A foreign key a migration declares.
	 */
	public static class ForeignKey {

		/**
		 * Referencing columns of the migration's table.
		 */
		private List<String> columns = new ArrayList<>();

		/**
		 * Referenced table, optionally qualified by its schema.
		 */
		private @Nullable String references;

		/**
		 * Referenced columns. Defaults to the referenced table's primary key.
		 */
		private List<String> referencedColumns = new ArrayList<>();

		public List<String> getColumns() {
			return this.columns;
		}

		public void setColumns(List<String> columns) {
			this.columns = columns;
		}

		public @Nullable String getReferences() {
			return this.references;
		}

		public void setReferences(@Nullable String references) {
			this.references = references;
		}

		public List<String> getReferencedColumns() {
			return this.referencedColumns;
		}

		public void setReferencedColumns(List<String> referencedColumns) {
			this.referencedColumns = referencedColumns;
		}

	}

	/**
	 * Backfill settings of one migration.
	 */
	public static class Backfill {

		/**
		 * Whether this instance may run the migration's backfill.
		 */
		private boolean enabled = true;

		/**
		 * Number of rows in the first batch.
		 */
		private int initialBatchSize = 1000;

		/**
		 * Minimum number of rows in a batch.
		 */
		private int minBatchSize = 100;

		/**
		 * Maximum number of rows in a batch.
		 */
		private int maxBatchSize = 50_000;

		/**
		 * Longest duration a copy batch should take (it holds its rows' locks that long).
		 * Batches grow towards it while the workload does not feel the copy, and shrink
		 * while it does.
		 */
		private Duration targetBatchDuration = Duration.ofMillis(200);

		/**
		 * Least pause between two copy batches. The pacing lengthens it while the
		 * workload feels the copy.
		 */
		private Duration pause = Duration.ZERO;

		/**
		 * How much slower the workload's database calls may get while the copy runs than
		 * while it pauses, such as 20%. The copy slows down when they get slower than
		 * that.
		 */
		private String maxLatencyIncrease = "20%";

		/**
		 * Maximum number of rows the copy walks per second, across the fleet. Zero for no
		 * ceiling.
		 */
		private long maxRowsPerSecond;

		/**
		 * Lock timeout of each batch.
		 */
		private Duration lockTimeout = Duration.ofSeconds(1);

		/**
		 * Statement timeout of each batch.
		 */
		private Duration statementTimeout = Duration.ofSeconds(10);

		/**
		 * Maximum number of sessions waiting on a lock on the table before the backfill
		 * holds back.
		 */
		private int maxLockWaiters = 0;

		/**
		 * Maximum age of the oldest open transaction before the backfill holds back. Zero
		 * to never hold back for it.
		 */
		private Duration maxTransactionAge = Duration.ofMinutes(5);

		/**
		 * How long to wait before checking the load again while holding back.
		 */
		private Duration throttleCheckInterval = Duration.ofSeconds(1);

		/**
		 * Times of day the backfill may run in, such as 22:00-06:00. Any time if empty.
		 */
		private List<String> timeWindows = new ArrayList<>();

		/**
		 * Time zone of the time windows.
		 */
		private String timeZone = "UTC";

		/**
		 * Number of rows updated between two VACUUMs of the table. Zero to leave
		 * vacuuming to autovacuum.
		 */
		private long vacuumEveryRows = 200_000;

		/**
		 * Maximum number of verification passes while rows keep disagreeing.
		 */
		private int verificationPasses = 3;

		/**
		 * Rows read per verification batch. Verification only reads (and repairs the rows
		 * that disagree), so its batches are larger than the copy's and do not adapt to
		 * the load.
		 */
		private int verificationBatchSize = 10_000;

		/**
		 * Pause between two verification batches.
		 */
		private Duration verificationPause = Duration.ofMillis(10);

		/**
		 * Replay lag of a streaming replica above which the backfill holds back. Zero to
		 * never hold back for it. Needs a role that can read pg_stat_replication's lag
		 * (pg_read_all_stats).
		 */
		private Duration maxReplicationLag = Duration.ofSeconds(10);

		/**
		 * Failed attempts in a row of one batch after which the backfill stops in the
		 * failed state until it is resumed.
		 */
		private int maxBatchAttempts = 10;

		/**
		 * How many of the latest batch attempts max-failure-share is taken over.
		 */
		private int failureWindow = 100;

		/**
		 * Share of failed attempts among the latest failure-window above which the
		 * backfill stops in the failed state until it is resumed.
		 */
		private double maxFailureShare = 0.5;

		/**
		 * Whether to clear the settings changed live through the endpoint, so that the
		 * declared ones apply again: once per distinct declaration of the backfill's
		 * settings, by the first instance that starts with it.
		 */
		private boolean clearOverrides;

		public boolean isEnabled() {
			return this.enabled;
		}

		public void setEnabled(boolean enabled) {
			this.enabled = enabled;
		}

		public int getInitialBatchSize() {
			return this.initialBatchSize;
		}

		public void setInitialBatchSize(int initialBatchSize) {
			this.initialBatchSize = initialBatchSize;
		}

		public int getMinBatchSize() {
			return this.minBatchSize;
		}

		public void setMinBatchSize(int minBatchSize) {
			this.minBatchSize = minBatchSize;
		}

		public int getMaxBatchSize() {
			return this.maxBatchSize;
		}

		public void setMaxBatchSize(int maxBatchSize) {
			this.maxBatchSize = maxBatchSize;
		}

		public Duration getTargetBatchDuration() {
			return this.targetBatchDuration;
		}

		public void setTargetBatchDuration(Duration targetBatchDuration) {
			this.targetBatchDuration = targetBatchDuration;
		}

		public Duration getPause() {
			return this.pause;
		}

		public void setPause(Duration pause) {
			this.pause = pause;
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

		public int getMaxLockWaiters() {
			return this.maxLockWaiters;
		}

		public void setMaxLockWaiters(int maxLockWaiters) {
			this.maxLockWaiters = maxLockWaiters;
		}

		public Duration getMaxTransactionAge() {
			return this.maxTransactionAge;
		}

		public void setMaxTransactionAge(Duration maxTransactionAge) {
			this.maxTransactionAge = maxTransactionAge;
		}

		public Duration getThrottleCheckInterval() {
			return this.throttleCheckInterval;
		}

		public void setThrottleCheckInterval(Duration throttleCheckInterval) {
			this.throttleCheckInterval = throttleCheckInterval;
		}

		public List<String> getTimeWindows() {
			return this.timeWindows;
		}

		public void setTimeWindows(List<String> timeWindows) {
			this.timeWindows = timeWindows;
		}

		public String getTimeZone() {
			return this.timeZone;
		}

		public void setTimeZone(String timeZone) {
			this.timeZone = timeZone;
		}

		public long getVacuumEveryRows() {
			return this.vacuumEveryRows;
		}

		public void setVacuumEveryRows(long vacuumEveryRows) {
			this.vacuumEveryRows = vacuumEveryRows;
		}

		public int getVerificationPasses() {
			return this.verificationPasses;
		}

		public void setVerificationPasses(int verificationPasses) {
			this.verificationPasses = verificationPasses;
		}

		public int getVerificationBatchSize() {
			return this.verificationBatchSize;
		}

		public void setVerificationBatchSize(int verificationBatchSize) {
			this.verificationBatchSize = verificationBatchSize;
		}

		public Duration getVerificationPause() {
			return this.verificationPause;
		}

		public void setVerificationPause(Duration verificationPause) {
			this.verificationPause = verificationPause;
		}

		public String getMaxLatencyIncrease() {
			return this.maxLatencyIncrease;
		}

		public void setMaxLatencyIncrease(String maxLatencyIncrease) {
			this.maxLatencyIncrease = maxLatencyIncrease;
		}

		public long getMaxRowsPerSecond() {
			return this.maxRowsPerSecond;
		}

		public void setMaxRowsPerSecond(long maxRowsPerSecond) {
			this.maxRowsPerSecond = maxRowsPerSecond;
		}

		public Duration getMaxReplicationLag() {
			return this.maxReplicationLag;
		}

		public void setMaxReplicationLag(Duration maxReplicationLag) {
			this.maxReplicationLag = maxReplicationLag;
		}

		public int getMaxBatchAttempts() {
			return this.maxBatchAttempts;
		}

		public void setMaxBatchAttempts(int maxBatchAttempts) {
			this.maxBatchAttempts = maxBatchAttempts;
		}

		public int getFailureWindow() {
			return this.failureWindow;
		}

		public void setFailureWindow(int failureWindow) {
			this.failureWindow = failureWindow;
		}

		public double getMaxFailureShare() {
			return this.maxFailureShare;
		}

		public void setMaxFailureShare(double maxFailureShare) {
			this.maxFailureShare = maxFailureShare;
		}

		public boolean isClearOverrides() {
			return this.clearOverrides;
		}

		public void setClearOverrides(boolean clearOverrides) {
			this.clearOverrides = clearOverrides;
		}

	}

}
