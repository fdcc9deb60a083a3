package dev.zdm.internal.ddl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;

import org.springframework.core.NestedExceptionUtils;

import dev.zdm.internal.catalog.GeneratedNames;
import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.PoolConnections;
import dev.zdm.migration.MigrationDefinition;

/**
 * Runs the scripts of one step of a migration through Flyway and the
 * {@link LockSafeExecutor}. Each step of each migration has a Flyway of its own whose
 * history table, {@code zdm_ddl_<step>_<migration>} ({@link #historyTable}), is zdm's;
 * Flyway orders the scripts, validates the checksums of those already applied and records
 * each one, and hands every statement of a script to the executor, which records each
 * statement it applies so that a step that stopped half-way resumes with the next one.
 */
public class FlywayStep {

	private static final Log logger = LogFactory.getLog(FlywayStep.class);

	private static final String TRANSACTIONAL_LOCK = "flyway.postgresql.transactional.lock";

	private final DataSource dataSource;

	private final LockSafeExecutor executor;

	private final DdlHistoryRepository history;

	private final DdlScriptLoader loader;

	/**
	 * Create a step runner.
	 * @param dataSource where Flyway records the scripts: the data source zdm's DDL runs
	 * on (the application's, or one for {@code zdm.ddl.user}), so that the history table
	 * is its role's, beside the tables the scripts change
	 * @param executor runs each statement
	 * @param history where the applied statements are read from
	 * @param loader where scripts are loaded from
	 */
	public FlywayStep(DataSource dataSource, LockSafeExecutor executor, DdlHistoryRepository history,
			DdlScriptLoader loader) {
		this.dataSource = dataSource;
		this.executor = executor;
		this.history = history;
		this.loader = loader;
	}

	/**
	 * Load the scripts of one step of a migration.
	 * @param migration the migration
	 * @param step the step
	 * @param locations where the scripts are
	 * @return the scripts, in version order
	 */
	public List<DdlScript> load(MigrationDefinition migration, DdlStep step, List<String> locations) {
		return this.loader.load(migration.id(), step, locations);
	}

	/**
	 * Load the scripts of one step of a migration, from the step's locations.
	 * @param migration the migration
	 * @param step the step
	 * @return the scripts, in version order
	 */
	public List<DdlScript> load(MigrationDefinition migration, DdlStep step) {
		return load(migration, step, locations(migration, step));
	}

	/**
	 * Return the scripts of a step with the statements that have not been applied (or
	 * were changed since). Only reads.
	 * @param migration the migration
	 * @param step the step
	 * @return the scripts with statements to run, each with only those statements
	 */
	public List<DdlScript> pending(MigrationDefinition migration, DdlStep step) {
		List<DdlScript> scripts = load(migration, step);
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

	/**
	 * Run the statements of a step's scripts that have not been applied, then let Flyway
	 * record the scripts.
	 * @param session the session to run them on, holding the migration's DDL lock
	 * @param migration the migration
	 * @param step the step
	 * @param locations where the scripts are
	 * @param control how long each statement is retried
	 * @throws DdlExecutionException if a statement fails, or Flyway cannot run
	 */
	public void run(DdlSession session, MigrationDefinition migration, DdlStep step, List<String> locations,
			RetryControl control) {
		List<DdlScript> scripts = this.loader.load(migration.id(), step, locations);
		if (scripts.isEmpty()) {
			if (!locations.isEmpty()) {
				logger.warn("zdm: migration '" + migration.id() + "' has no " + step + " scripts in " + locations);
			}
			return;
		}
		JavaMigration[] migrations = scripts.stream()
			.map((script) -> new ScriptMigration(script,
					() -> runScript(session, migration, script, this.history.appliedStatements(migration.id(), step),
							control)))
			.toArray(JavaMigration[]::new);
		if (this.history.forgetFailedScripts(this.dataSource, historyTable(migration.id(), step)) > 0) {
			logger.info("zdm: migration '" + migration.id() + "': resuming the " + step + " script that failed before");
		}
		try (ReturningDataSource flywayConnections = new ReturningDataSource(this.dataSource)) {
			migrate(session, migration, step, locations, control, scripts, migrations, flywayConnections);
		}
	}

	private void migrate(DdlSession session, MigrationDefinition migration, DdlStep step, List<String> locations,
			RetryControl control, List<DdlScript> scripts, JavaMigration[] migrations, DataSource flywayConnections) {
		String historyTable = historyTable(migration.id(), step);
		Flyway flyway = Flyway.configure(getClass().getClassLoader())
			.configuration(Map.of(TRANSACTIONAL_LOCK, "false"))
			.dataSource(flywayConnections)
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
			// The pending scripts' statements run before Flyway records the scripts: a
			// statement that fails then fails outside Flyway, which would report it as a
			// failed migration needing backups restored.
			Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), step);
			for (MigrationInfo pending : flyway.info().pending()) {
				scripts.stream()
					.filter((script) -> script.version().equals(pending.getVersion()))
					.forEach((script) -> runScript(session, migration, script, applied, control));
			}
			flyway.migrate();
		}
		catch (FlywayException ex) {
			for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
				if (cause instanceof DdlExecutionException ddl) {
					throw ddl;
				}
			}
			if (PoolConnections.ranOut(ex)) {
				throw new DdlExecutionException("Migration '" + migration.id()
						+ "': Flyway could not get a connection from the application's pool for the " + step
						+ " scripts (zdm holds one for the migration's lock, Flyway takes two): "
						+ NestedExceptionUtils.getMostSpecificCause(ex).getMessage() + ". " + PoolConnections.ADVICE,
						List.of(), ex);
			}
			throw new DdlExecutionException("Migration '" + migration.id() + "': Flyway could not run the " + step
					+ " scripts: " + ex.getMessage(), List.of(), ex);
		}
	}

	private void runScript(DdlSession session, MigrationDefinition migration, DdlScript script,
			Map<String, Map<Integer, Integer>> applied, RetryControl control) {
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
			this.executor.execute(session, key, statement, control);
		}
	}

	private static List<String> locations(MigrationDefinition migration, DdlStep step) {
		return (step == DdlStep.EXPAND) ? migration.expandLocations() : migration.contractLocations();
	}

	/**
	 * Return the name of the Flyway history table of one step of a migration.
	 * @param migrationId the migration
	 * @param step the step
	 * @return for example {@code zdm_ddl_expand_users-email}, at most 57 characters:
	 * Flyway names the table's key and index after it ({@code <table>_pk},
	 * {@code <table>_s_idx}), and PostgreSQL cuts names at 63, so that a longer table
	 * name gives both one name and Flyway cannot create its table
	 */
	public static String historyTable(String migrationId, DdlStep step) {
		return GeneratedNames.fit("zdm_ddl_" + step.value() + "_" + migrationId, 57);
	}

	/**
	 * A script, as Flyway sees it: a non-transactional migration whose statements the
	 * executor runs one by one.
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
