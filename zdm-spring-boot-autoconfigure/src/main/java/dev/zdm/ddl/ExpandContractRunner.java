package dev.zdm.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.Ordered;
import org.springframework.core.io.DefaultResourceLoader;
import org.springframework.core.io.ResourceLoader;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.ClassUtils;

import dev.zdm.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.fleet.FleetMember;
import dev.zdm.fleet.FleetRegistry;
import dev.zdm.fleet.InstanceInfo;
import dev.zdm.migration.DatabaseCatalog;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.MigrationValidator;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.phase.MigrationParticipant;
import dev.zdm.phase.MigrationState;
import dev.zdm.phase.MigrationStateRepository;
import dev.zdm.phase.MigrationStatus;

/**
 * Runs each migration's expand and contract DDL through Flyway and the {@link LockSafeExecutor}: checks the
 * scripts for unsafe operations before anything is written, runs the expand scripts and the
 * {@link SchemaChangeContributor contributors}' expand statements at start-up, and runs the contract once, on one
 * instance, when every live instance is at {@code contract}.
 * <p>
 * Each step of each migration has a Flyway of its own whose history table, {@code zdm_ddl_<step>_<migration>}, is
 * zdm's; Flyway orders the scripts, validates the checksums of those already applied and records each one, and
 * hands every statement of a script to the executor. The contract is claimed by marking the migration contracted
 * under the fleet's lock, after checking that every live instance runs {@code contract}: from then on every
 * instance runs {@code contract} and one that requests an earlier phase is refused at start-up. The contract's
 * progress is recorded per statement, so an instance that takes over after the claimer died resumes it.
 */
public class ExpandContractRunner implements MigrationParticipant, Ordered, DisposableBean {

	/** The order of the runner among the participants: first, so that the new schema exists for the others. */
	public static final int ORDER = 0;

	private static final Log logger = LogFactory.getLog(ExpandContractRunner.class);

	private static final String TRANSACTIONAL_LOCK = "flyway.postgresql.transactional.lock";

	private final DataSource dataSource;

	private final InstanceInfo instance;

	private final Duration fleetTimeout;

	private final List<SchemaChangeContributor> contributors;

	private final LockSafeExecutor executor;

	private final DdlScriptLoader loader;

	private final UnsafeStatementChecker checker;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final FleetRegistry registry;

	private final TransactionTemplate transactionTemplate;

	private final ExecutorService contractExecutor = Executors.newSingleThreadExecutor((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-ddl-contract");
		thread.setDaemon(true);
		return thread;
	});

	private final Set<String> contractsRunning = ConcurrentHashMap.newKeySet();

	private final Set<String> contractsDone = ConcurrentHashMap.newKeySet();

	private final Map<String, Instant> contractRetryAfter = new ConcurrentHashMap<>();

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
	 * @param settings the lock timeout and retry settings
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the fleet
	 * @param contributors the contributors of further DDL, in order
	 * @param resourceLoader where scripts are loaded from
	 */
	public ExpandContractRunner(DataSource dataSource, DdlSettings settings, InstanceInfo instance,
			Duration fleetTimeout, List<SchemaChangeContributor> contributors, ResourceLoader resourceLoader) {
		this.dataSource = dataSource;
		this.instance = instance;
		this.fleetTimeout = fleetTimeout;
		this.contributors = List.copyOf(contributors);
		this.history = new DdlHistoryRepository(dataSource);
		this.executor = new LockSafeExecutor(dataSource, settings, this.history);
		this.loader = new DdlScriptLoader(resourceLoader);
		this.checker = new UnsafeStatementChecker(new DdlCatalog(dataSource));
		this.states = new MigrationStateRepository(dataSource);
		this.registry = new FleetRegistry(dataSource);
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
	}

	/**
	 * Create a runner that loads scripts with a default resource loader.
	 * @param dataSource the application's data source
	 * @param settings the lock timeout and retry settings
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the fleet
	 * @param contributors the contributors of further DDL, in order
	 */
	public ExpandContractRunner(DataSource dataSource, DdlSettings settings, InstanceInfo instance,
			Duration fleetTimeout, List<SchemaChangeContributor> contributors) {
		this(dataSource, settings, instance, fleetTimeout, contributors, new DefaultResourceLoader());
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Set the listener told about each statement's attempts, to measure and trace them.
	 * @param listener the listener
	 */
	public void setListener(DdlListener listener) {
		this.executor.setListener(listener);
	}

	/**
	 * Return the DDL history, to read a migration's {@link DdlStatus}.
	 * @return the history
	 */
	public DdlHistoryRepository history() {
		return this.history;
	}

	/**
	 * Load the migration's scripts and check those that have not run for unsafe operations. Only reads.
	 */
	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		List<DdlScript> expand = state.isContracted() ? List.of() : pending(migration, DdlStep.EXPAND);
		List<DdlScript> contract = pending(migration, DdlStep.CONTRACT);
		List<UnsafeStatement> findings = this.checker.check(expand, contract, migration.allowedUnsafe());
		if (!findings.isEmpty()) {
			throw unsafe(migration, findings);
		}
	}

	/**
	 * Run the pending expand scripts, check the new columns exist, then run the contributors' expand statements.
	 */
	@Override
	public void beforeJoin(MigrationDefinition migration, MigrationState state) {
		if (state.isContracted()) {
			return;
		}
		String id = migration.id();
		try (DdlSession session = DdlSession.open(this.dataSource)) {
			session.lock(id);
			if (this.states.find(id).isContracted()) {
				return;
			}
			this.history.stepStarted(id, DdlStep.EXPAND, this.instance.instanceId());
			try {
				runScripts(session, migration, DdlStep.EXPAND, migration.expandLocations());
				new MigrationValidator(new DatabaseCatalog(this.dataSource)).validateAfterExpand(migration, false);
				runContributions(session, migration, DdlStep.EXPAND);
				this.history.stepDone(id, DdlStep.EXPAND);
			}
			catch (RuntimeException ex) {
				this.history.stepFailed(id, DdlStep.EXPAND, String.valueOf(ex.getMessage()));
				throw ex;
			}
		}
	}

	/**
	 * Start the contract on another thread once every live instance runs {@code contract}, or resume it if it was
	 * claimed and has not finished.
	 */
	@Override
	public void afterHeartbeat(MigrationStatus status) {
		String id = status.migrationId();
		if (this.contractsDone.contains(id) || this.contractsRunning.contains(id)) {
			return;
		}
		if (!status.state().isContracted() && !status.wholeFleetAtLeast(Phase.CONTRACT)) {
			return;
		}
		Instant retryAfter = this.contractRetryAfter.get(id);
		if (retryAfter != null && Instant.now().isBefore(retryAfter)) {
			return;
		}
		if (this.contractsRunning.add(id)) {
			this.contractExecutor.execute(() -> {
				try {
					contract(status.migration());
				}
				catch (RuntimeException ex) {
					this.contractRetryAfter.put(id, Instant.now().plus(this.executor.settings().maxBackoff()));
					logger.error("zdm: contract of migration '" + id + "' failed; it is retried after "
							+ this.executor.settings().maxBackoff() + ": " + ex.getMessage(), ex);
				}
				finally {
					this.contractsRunning.remove(id);
				}
			});
		}
	}

	/**
	 * Run the contract if this instance may: claim it, then run the contributors' contract statements and the
	 * contract scripts.
	 * @param migration the migration
	 * @return {@code true} if this call ran (or finished) the contract
	 */
	public boolean contract(MigrationDefinition migration) {
		String id = migration.id();
		try (DdlSession session = DdlSession.open(this.dataSource)) {
			if (!session.tryLock(id)) {
				return false;
			}
			if (this.states.find(id).isContracted()) {
				if (this.history.isStepDone(id, DdlStep.CONTRACT)) {
					this.contractsDone.add(id);
					return false;
				}
				logger.info("zdm: resuming the contract of migration '" + id + "'");
			}
			else if (!claimContract(id)) {
				return false;
			}
			this.history.stepStarted(id, DdlStep.CONTRACT, this.instance.instanceId());
			try {
				runContributions(session, migration, DdlStep.CONTRACT);
				runScripts(session, migration, DdlStep.CONTRACT, migration.contractLocations());
				this.history.stepDone(id, DdlStep.CONTRACT);
			}
			catch (RuntimeException ex) {
				this.history.stepFailed(id, DdlStep.CONTRACT, String.valueOf(ex.getMessage()));
				throw ex;
			}
			this.contractsDone.add(id);
			logger.info("zdm: contract of migration '" + id + "' done on instance " + this.instance.instanceId());
			return true;
		}
	}

	@Override
	public void destroy() {
		this.contractExecutor.shutdownNow();
		try {
			this.contractExecutor.awaitTermination(5, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		this.executor.destroy();
	}

	// Under the fleet's lock no instance changes phase or joins, so the check and the mark are one decision.
	private boolean claimContract(String id) {
		return Boolean.TRUE.equals(this.transactionTemplate.execute((transaction) -> {
			this.registry.lockMigration(id);
			List<FleetMember> live = this.registry.members(id, this.fleetTimeout)
				.stream()
				.filter(FleetMember::live)
				.toList();
			FleetMember behind = live.stream()
				.filter((member) -> member.effectivePhase() != Phase.CONTRACT)
				.findFirst()
				.orElse(null);
			if (live.isEmpty() || behind != null) {
				logger.debug("zdm: contract of migration '" + id + "' waits: "
						+ ((behind != null) ? "instance " + behind.instanceId() + " runs " + behind.effectivePhase()
								: "no live instance"));
				return false;
			}
			boolean claimed = this.states.markContracted(id, this.instance.instanceId());
			if (claimed) {
				logger.info("zdm: every live instance of migration '" + id + "' runs contract; instance "
						+ this.instance.instanceId() + " runs the contract DDL");
			}
			return claimed;
		}));
	}

	private List<DdlScript> pending(MigrationDefinition migration, DdlStep step) {
		List<DdlScript> scripts = this.loader.load(migration.id(), step, locations(migration, step));
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), step);
		List<DdlScript> pending = new ArrayList<>();
		for (DdlScript script : scripts) {
			Map<Integer, Integer> done = applied.getOrDefault(script.name(), Map.of());
			List<DdlStatement> statements = script.statements()
				.stream()
				.filter((statement) -> !Objects.equals(done.get(statement.index()),
						LockSafeExecutor.checksum(statement.sql())))
				.toList();
			if (!statements.isEmpty()) {
				pending.add(new DdlScript(script.step(), script.version(), script.description(), script.name(),
						script.location(), script.checksum(), statements));
			}
		}
		return pending;
	}

	private void runScripts(DdlSession session, MigrationDefinition migration, DdlStep step, List<String> locations) {
		List<DdlScript> scripts = this.loader.load(migration.id(), step, locations);
		if (scripts.isEmpty()) {
			if (!locations.isEmpty()) {
				logger.warn("zdm: migration '" + migration.id() + "' has no " + step + " scripts in " + locations);
			}
			return;
		}
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), step);
		JavaMigration[] migrations = scripts.stream()
			.map((script) -> new ScriptMigration(script, () -> runScript(session, migration, script, applied)))
			.toArray(JavaMigration[]::new);
		String historyTable = historyTable(migration.id(), step);
		if (this.history.forgetFailedScripts(historyTable) > 0) {
			logger.info("zdm: migration '" + migration.id() + "': resuming the " + step + " script that failed before");
		}
		Flyway flyway = Flyway.configure(getClass().getClassLoader())
			.configuration(Map.of(TRANSACTIONAL_LOCK, "false"))
			.dataSource(this.dataSource)
			.table(historyTable)
			.locations(locations.toArray(String[]::new))
			.skipDefaultResolvers(true)
			.skipDefaultCallbacks(true)
			.javaMigrations(migrations)
			.baselineOnMigrate(true)
			.baselineVersion(DdlScriptLoader.BASELINE)
			.baselineDescription("zdm " + step + " baseline")
			.cleanDisabled(true)
			.load();
		try {
			flyway.migrate();
		}
		catch (FlywayException ex) {
			for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
				if (cause instanceof DdlExecutionException ddl) {
					throw ddl;
				}
			}
			throw new DdlExecutionException("Migration '" + migration.id() + "': Flyway could not run the " + step
					+ " scripts: " + ex.getMessage(), List.of(), ex);
		}
	}

	private void runScript(DdlSession session, MigrationDefinition migration, DdlScript script,
			Map<String, Map<Integer, Integer>> applied) {
		Map<Integer, Integer> done = applied.getOrDefault(script.name(), Map.of());
		for (DdlStatement statement : script.statements()) {
			StatementKey key = new StatementKey(migration.id(), script.step(), script.name(), statement.index());
			Integer appliedChecksum = done.get(statement.index());
			if (appliedChecksum != null) {
				if (appliedChecksum != LockSafeExecutor.checksum(statement.sql())) {
					throw new DdlExecutionException(key + " was changed after it was applied; restore the script as it "
							+ "was and put further changes in a new script", List.of(), null);
				}
				continue;
			}
			this.executor.execute(session, key, statement);
		}
	}

	private void runContributions(DdlSession session, MigrationDefinition migration, DdlStep step) {
		for (SchemaChangeContributor contributor : this.contributors) {
			List<String> statements = (step == DdlStep.EXPAND) ? contributor.expandStatements(migration)
					: contributor.contractStatements(migration);
			String source = "contributor:" + ClassUtils.getUserClass(contributor).getSimpleName();
			for (int i = 0; i < statements.size(); i++) {
				DdlStatement statement = DdlStatement.of(i + 1, statements.get(i));
				this.executor.execute(session, new StatementKey(migration.id(), step, source, i + 1), statement);
			}
		}
	}

	private ZdmConfigurationException unsafe(MigrationDefinition migration, List<UnsafeStatement> findings) {
		StringBuilder description = new StringBuilder();
		description.append(findings.size()).append((findings.size() == 1) ? " unsafe statement" : " unsafe statements")
			.append(" in its scripts; nothing has run:");
		StringBuilder action = new StringBuilder();
		for (UnsafeStatement finding : findings) {
			description.append("\n  - ").append(finding.describe());
			String recipe = finding.operation().code() + ": " + finding.operation().recipe();
			if (action.indexOf(recipe) < 0) {
				action.append("\n  - ").append(recipe);
			}
		}
		String codes = String.join(",",
				findings.stream().map((finding) -> finding.operation().code()).distinct().toList());
		return new ZdmConfigurationException(migration.id(), description.toString(),
				"Use the safe recipe:" + action + "\nIf the table is small or the application is stopped and you accept "
						+ "the lock, allow the statement with a comment '-- zdm:allow <code>' in it (or on the line "
						+ "before it), or the whole migration with zdm.migrations." + migration.id()
						+ ".allow-unsafe=" + codes + ".");
	}

	private static List<String> locations(MigrationDefinition migration, DdlStep step) {
		return (step == DdlStep.EXPAND) ? migration.expandLocations() : migration.contractLocations();
	}

	/**
	 * Return the name of the Flyway history table of one step of a migration.
	 * @param migrationId the migration
	 * @param step the step
	 * @return for example {@code zdm_ddl_expand_users-email}, at most 63 characters
	 */
	public static String historyTable(String migrationId, DdlStep step) {
		String name = "zdm_ddl_" + step.value() + "_" + migrationId;
		if (name.length() <= 63) {
			return name;
		}
		return name.substring(0, 54) + "_" + String.format("%08x", migrationId.hashCode());
	}

	/**
	 * A script, as Flyway sees it: a non-transactional migration whose statements the executor runs one by one.
	 */
	private static final class ScriptMigration implements JavaMigration {

		private final DdlScript script;

		private final Runnable runner;

		private ScriptMigration(DdlScript script, Runnable runner) {
			this.script = script;
			this.runner = runner;
		}

		@Override
		public MigrationVersion getVersion() {
			return this.script.version();
		}

		@Override
		public String getDescription() {
			return this.script.description();
		}

		@Override
		public Integer getChecksum() {
			return this.script.checksum();
		}

		@Override
		public boolean canExecuteInTransaction() {
			return false;
		}

		@Override
		public void migrate(Context context) {
			this.runner.run();
		}

	}

}
