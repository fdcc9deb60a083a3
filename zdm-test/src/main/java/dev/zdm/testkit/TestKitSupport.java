package dev.zdm.testkit;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.context.ApplicationContext;
import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.backfill.BackfillService;
import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.backfill.JdbcBackfillService;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlStatus;
import dev.zdm.internal.ddl.MigrationPlan;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.ddl.script.AllowReasons;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.OfflineDdlCatalog;
import dev.zdm.internal.ddl.script.UnsafeStatementChecker;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmTables;

/**
 * What zdm's test kit ({@code zdm-test}) reads of zdm beyond its API: the start-up check
 * of a migration's scripts, where its DDL steps stand, and its backfill. For the test
 * kit; an application uses the beans.
 */
final class TestKitSupport {

	private TestKitSupport() {
	}

	/**
	 * Check a migration's scripts for unsafe statements, exactly as start-up does.
	 * @param migrationId the migration, for messages
	 * @param expandLocations where its expand scripts are
	 * @param contractLocations where its contract scripts are
	 * @param allowed the codes of unsafe operations allowed for the whole migration
	 * @param dataSource the database whose catalog answers look-ups (tables, column
	 * types, functions, constraints), or {@code null} to check without one: every table
	 * the scripts do not create is then taken to exist, and no column type is known
	 * @param requireAllowReason whether a {@code -- zdm:allow} comment must give a
	 * reason, as {@code zdm.ddl.require-allow-reason=true} makes start-up require
	 * @return the unsafe statements that are not allowed, in script order
	 * @throws ZdmConfigurationException if a script cannot be read or parsed, or a
	 * {@code -- zdm:allow} comment gives no reason where one is required
	 * @throws IllegalArgumentException if no script is found
	 */
	public static List<UnsafeStatement> checkScripts(String migrationId, List<String> expandLocations,
			List<String> contractLocations, Set<String> allowed, @Nullable DataSource dataSource,
			boolean requireAllowReason) {
		DdlScriptLoader loader = new DdlScriptLoader(new DefaultResourceLoader());
		List<DdlScript> expand = loader.load(migrationId, DdlStep.EXPAND, expandLocations);
		List<DdlScript> contract = loader.load(migrationId, DdlStep.CONTRACT, contractLocations);
		if (expand.isEmpty() && contract.isEmpty()) {
			throw new IllegalArgumentException("No V<version>__<description>.sql scripts found in " + expandLocations
					+ " or " + contractLocations + "; check the location");
		}
		DdlCatalog catalog = (dataSource != null) ? new DdlCatalog(dataSource) : new OfflineDdlCatalog();
		List<UnsafeStatement> findings = new UnsafeStatementChecker(catalog).check(expand, contract, allowed);
		if (findings.isEmpty() && requireAllowReason) {
			List<DdlScript> scripts = new ArrayList<>(expand);
			scripts.addAll(contract);
			AllowReasons.require(migrationId, scripts);
		}
		return findings;
	}

	/**
	 * Return whether a migration's expand or contract DDL is done.
	 * @param controller an instance's phase controller, on the database and in the schema
	 * ({@code zdm.schema}) of zdm's tables
	 * @param migrationId the migration
	 * @param contract {@code true} for the contract step, {@code false} for the expand
	 * @return whether every statement of the step is applied
	 */
	public static boolean isDdlStepDone(PhaseController controller, String migrationId, boolean contract) {
		return history(controller.dataSource(), controller.tables()).isStepDone(migrationId, step(contract));
	}

	// zdm's DDL history where an instance keeps it: a walk with zdm.schema read the
	// connection's current schema and failed on a table it did not find
	private static DdlHistoryRepository history(DataSource dataSource, ZdmTables tables) {
		return new DdlHistoryRepository(dataSource, tables);
	}

	/**
	 * Describe where a migration's expand or contract DDL stands, for a message.
	 * @param controller an instance's phase controller
	 * @param migrationId the migration
	 * @param contract {@code true} for the contract step, {@code false} for the expand
	 * @return for example "it is FAILED: ..." or "it has not started"
	 */
	public static String describeDdlStep(PhaseController controller, String migrationId, boolean contract) {
		DdlStatus status = history(controller.dataSource(), controller.tables()).status(migrationId, 1);
		DdlStatus.Step recorded = status.step(step(contract));
		if (recorded == null) {
			return "it has not started";
		}
		String last = (status.lastLockTimeout() != null)
				? "; last lock timeout " + status.lastLockTimeout().describeBlockers() : "";
		return "it is " + recorded.state() + ((recorded.error() != null) ? ": " + recorded.error() : "") + last;
	}

	/**
	 * Return how long a migration's expand and contract DDL took, as zdm recorded them.
	 * @param dataSource the database
	 * @param tables zdm's tables, in their schema
	 * @param migrationId the migration
	 * @return the sum over the steps that finished
	 */
	static Duration ddlTime(DataSource dataSource, ZdmTables tables, String migrationId) {
		Duration total = Duration.ZERO;
		for (DdlStatus.Step step : history(dataSource, tables).status(migrationId, 1).steps()) {
			if (step.finishedAt() != null) {
				total = total.plus(Duration.between(step.startedAt(), step.finishedAt()));
			}
		}
		return total;
	}

	/**
	 * Return a {@link BackfillService} on a database, as the bean of an application on it
	 * is.
	 * @param dataSource the database
	 * @return the service
	 */
	public static BackfillService backfillService(DataSource dataSource) {
		return backfillService(dataSource, ZdmTables.inSchema(null));
	}

	/**
	 * Return a {@link BackfillService} on a database whose zdm tables are in a schema of
	 * their own ({@code zdm.schema}), as the bean of an application on it is.
	 * @param dataSource the database
	 * @param tables zdm's tables, in their schema
	 * @return the service
	 */
	static BackfillService backfillService(DataSource dataSource, ZdmTables tables) {
		return new JdbcBackfillService(dataSource, tables);
	}

	/**
	 * Compute the plan of every migration an application declares, through its
	 * {@code MigrationPlanner} bean, in read-only transactions.
	 * @param context the application's context
	 * @return each migration's plan, by id, in declaration order
	 * @throws IllegalStateException if zdm is disabled or the application declares no
	 * migration
	 */
	static Map<String, Plan> plans(ApplicationContext context) {
		MigrationPlanner planner = context.getBeanProvider(MigrationPlanner.class).getIfAvailable();
		if (planner == null) {
			throw new IllegalStateException("The application has no zdm planner: zdm is disabled (zdm.enabled=false) "
					+ "or its auto-configuration did not apply (it needs a single DataSource, Flyway and Spring JDBC)");
		}
		Map<String, Plan> plans = new LinkedHashMap<>();
		for (MigrationPlan plan : planner.planAll()) {
			plans.put(plan.migrationId(),
					new Plan(plan.render(),
							plan.allStatements()
								.stream()
								.map((statement) -> statement.step() + " " + statement.source() + " #"
										+ statement.index() + ": " + statement.sql())
								.toList()));
		}
		if (plans.isEmpty()) {
			throw new IllegalStateException("The application declares no migration (zdm.migrations.<id>.*)");
		}
		return plans;
	}

	private static DdlStep step(boolean contract) {
		return contract ? DdlStep.CONTRACT : DdlStep.EXPAND;
	}

	/**
	 * A migration's plan, as the kit shows it.
	 *
	 * @param text the plan as text
	 * @param statements each statement as {@code <step> <source> #<index>: <sql>}
	 */
	record Plan(String text, List<String> statements) {

	}

	/**
	 * Whether the final check before the contract holds a migration's contract back on an
	 * instance.
	 * @param context the instance's application context
	 * @param migrationId the migration
	 * @return {@code true} if it does
	 */
	static boolean finalCheckHolds(ApplicationContext context, String migrationId) {
		return context.getBeanProvider(FinalContractCheck.class)
			.stream()
			.anyMatch((check) -> check.held(migrationId) != null);
	}

	/**
	 * Run a migration's contract over the final check that holds it back, if one does on
	 * an instance, as an operator's override does.
	 * @param context the instance's application context
	 * @param migrationId the migration
	 * @param instance the instance, recorded as where the override was asked
	 * @param reason why
	 */
	static void overrideFinalCheck(ApplicationContext context, String migrationId, String instance, String reason) {
		for (FinalContractCheck check : context.getBeanProvider(FinalContractCheck.class)) {
			if (check.held(migrationId) != null) {
				try {
					check.override(migrationId,
							new OperatorAction("contract.override", "zdm-test", instance, reason, Instant.now()));
				}
				catch (IllegalStateException ex) {
					// overridden meanwhile, or never stored: nothing to override
				}
			}
		}
	}

}
