package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.BackfillState;
import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.ddl.PlanSources.Source;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlCatalog.TableEstimate;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.StatementLock;
import dev.zdm.internal.ddl.script.UnsafeStatementChecker;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;

/**
 * Computes a {@link MigrationPlan}: the statements each phase runs, from the same sources
 * and in the same order as the {@link ExpandRunner} and the {@link ContractRunner} run
 * them (the expand scripts through the {@link FlywayStep}, then the
 * {@link SchemaChangeContributions contributors}' expand statements, such as the sync
 * trigger and the declared changes; at contract the contributors' statements, then the
 * contract scripts), each with its lock and its table's size, the backfill's estimate and
 * the unsafe-statement check's findings.
 * <p>
 * Everything is read in one read-only transaction, so computing a plan writes nothing,
 * even through a contributor. A contributor's expand statements depend on the columns the
 * expand scripts add: one that is a {@link SchemaChangePreview} (the sync trigger) is
 * asked what they will be; any other is asked with the catalog as it is now.
 */
public class MigrationPlanner {

	private static final String ZDM_BACKFILL_TABLE = "zdm_backfill";

	/**
	 * The least share of time the copy keeps beside a busy workload, as the backfill's
	 * pacing keeps ({@code BackfillPacer.MIN_DUTY} is this one).
	 */
	public static final double LEAST_SHARE = 0.025;

	/**
	 * The shortest batches the backfill's pacing goes down to
	 * ({@code BackfillPacer.MIN_BATCH_NANOS} is this one).
	 */
	public static final Duration LEAST_BATCH = Duration.ofMillis(5);

	private final PlanSources sources;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final DdlCatalog ddlCatalog;

	private final DatabaseCatalog catalog;

	private final DdlSettings settings;

	private final ContractDependents dependents;

	private final @Nullable BackfillService backfill;

	private final TransactionTemplate readOnly;

	private final List<MigrationDefinition> migrations;

	/**
	 * Create a planner.
	 * @param migrations the declared migrations
	 * @param dataSource the application's data source
	 * @param scripts where the expand and contract scripts are loaded from
	 * @param contributions the contributors whose statements run with the scripts
	 * @param history where the applied statements are read
	 * @param states where the migration's state is read
	 * @param settings the DDL settings, for the lock timeout
	 * @param backfill the backfill's progress, for a measured rate, or {@code null}
	 */
	public MigrationPlanner(List<MigrationDefinition> migrations, DataSource dataSource, FlywayStep scripts,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			DdlSettings settings, @Nullable BackfillService backfill) {
		this.migrations = List.copyOf(migrations);
		this.sources = new PlanSources(scripts, contributions, history, new ContractRelax(dataSource));
		this.history = history;
		this.states = states;
		this.ddlCatalog = new DdlCatalog(dataSource);
		this.catalog = new DatabaseCatalog(dataSource);
		this.settings = settings;
		this.dependents = new ContractDependents(dataSource);
		this.backfill = backfill;
		DataSourceTransactionManager transactionManager = new DataSourceTransactionManager(dataSource);
		// SET TRANSACTION READ ONLY: PostgreSQL refuses any write, whoever tries it
		transactionManager.setEnforceReadOnly(true);
		this.readOnly = new TransactionTemplate(transactionManager);
		this.readOnly.setReadOnly(true);
		this.readOnly.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
	}

	/**
	 * Return the declared migrations, as declared.
	 * @return the migrations, in declaration order
	 */
	public List<MigrationDefinition> migrations() {
		return this.migrations;
	}

	/**
	 * Compute the plan of each declared migration, each in a read-only transaction.
	 * @return the plans, in declaration order
	 */
	public List<MigrationPlan> planAll() {
		return this.migrations.stream().map(this::plan).toList();
	}

	/**
	 * Compute the plan of a declared migration, in a read-only transaction.
	 * @param migrationId the migration
	 * @return the plan, or {@code null} if no such migration is declared
	 */
	public @Nullable MigrationPlan plan(String migrationId) {
		return plan(migrationId, MigrationDefinition::backfill);
	}

	/**
	 * Compute the plan of a declared migration, in a read-only transaction, with the
	 * backfill settings it runs with, such as the declared ones with operators' live
	 * overrides merged over them.
	 * @param migrationId the migration
	 * @param backfillSettings the backfill settings the migration runs with
	 * @return the plan, or {@code null} if no such migration is declared
	 */
	public @Nullable MigrationPlan plan(String migrationId,
			Function<MigrationDefinition, BackfillSettings> backfillSettings) {
		return this.migrations.stream()
			.filter((migration) -> migration.id().equals(migrationId))
			.findFirst()
			.map((migration) -> plan(migration, backfillSettings.apply(migration)))
			.orElse(null);
	}

	/**
	 * Compute a migration's plan, in a read-only transaction.
	 * @param migration the migration
	 * @return the plan
	 */
	public MigrationPlan plan(MigrationDefinition migration) {
		return plan(migration, migration.backfill());
	}

	private MigrationPlan plan(MigrationDefinition migration, BackfillSettings backfillSettings) {
		return Objects.requireNonNull(this.readOnly.execute((transaction) -> compute(migration, backfillSettings)));
	}

	private MigrationPlan compute(MigrationDefinition declared, BackfillSettings backfillSettings) {
		MigrationDefinition migration = qualified(declared);
		String id = migration.id();
		MigrationState state = this.states.find(id);
		DdlStatus recorded = this.history.status(id, 0);
		List<Source> expand = new ArrayList<>();
		List<Source> contract = new ArrayList<>();
		if (state.isContracted()) {
			expand.addAll(PlanSources.recorded(recorded, DdlStep.EXPAND));
			contract.addAll(PlanSources.recorded(recorded, DdlStep.CONTRACT));
		}
		else {
			expand.addAll(this.sources.expand(migration, recorded));
			contract.addAll(this.sources.contract(migration, recorded));
		}
		Map<String, Set<UnsafeOperation>> unsafe = new LinkedHashMap<>();
		List<MigrationPlan.Finding> findings = findings(migration, expand, contract, unsafe);
		Map<String, MigrationPlan.TableSize> sizes = new LinkedHashMap<>();
		size(sizes, migration.table().toString());
		if (migration.targetTable() != null) {
			size(sizes, migration.targetTable().toString());
		}
		List<MigrationPlan.Statement> expandStatements = statements(DdlStep.EXPAND, expand, unsafe, sizes);
		List<MigrationPlan.Statement> contractStatements = statements(DdlStep.CONTRACT, contract, unsafe, sizes);
		MigrationPlan.BackfillEstimate backfill = backfillEstimate(migration, backfillSettings, sizes);
		List<MigrationPlan.PhasePlan> phases = List.of(
				new MigrationPlan.PhasePlan(Phase.EXPAND.value(), expandSummary(migration, expandStatements),
						expandStatements),
				new MigrationPlan.PhasePlan(Phase.DUAL_WRITE.value(), dualWriteSummary(migration), List.of()),
				new MigrationPlan.PhasePlan(Phase.BACKFILL.value(),
						backfillSummary(migration, backfillSettings, backfill), List.of()),
				new MigrationPlan.PhasePlan(Phase.READ_NEW.value(), readNewSummary(migration), List.of()),
				new MigrationPlan.PhasePlan(Phase.CONTRACT.value(),
						contractSummary(migration, contractStatements,
								state.isContracted() ? List.of() : contract.stream().map(Source::script).toList()),
						contractStatements));
		return new MigrationPlan(id, migration.table().toString(),
				(migration.targetTable() != null) ? migration.targetTable().toString() : null,
				migration.requestedPhase().value(), state.isContracted(), Instant.now(),
				sizes.values().stream().distinct().toList(), phases, backfill, findings);
	}

	private MigrationDefinition qualified(MigrationDefinition migration) {
		if (migration.table().schema() != null) {
			return migration;
		}
		return this.catalog.findSchema(migration.table())
			.map((schema) -> migration.toBuilder().table(migration.table().inSchema(schema)).build())
			.orElse(migration);
	}

	private List<MigrationPlan.Finding> findings(MigrationDefinition migration, List<Source> expand,
			List<Source> contract, Map<String, Set<UnsafeOperation>> unsafe) {
		UnsafeStatementChecker checker = new UnsafeStatementChecker(this.ddlCatalog);
		List<UnsafeStatement> found = checker.checkAll(expand.stream().map(Source::script).toList(),
				contract.stream().map(Source::script).toList());
		List<MigrationPlan.Finding> findings = new ArrayList<>();
		for (UnsafeStatement statement : found) {
			DdlStep step = expand.stream().anyMatch((source) -> source.script().name().equals(statement.source()))
					? DdlStep.EXPAND : DdlStep.CONTRACT;
			Source source = ((step == DdlStep.EXPAND) ? expand : contract).stream()
				.filter((candidate) -> candidate.script().name().equals(statement.source()))
				.findFirst()
				.orElseThrow();
			unsafe
				.computeIfAbsent(key(step, statement.source(), statement.index()),
						(key) -> EnumSet.noneOf(UnsafeOperation.class))
				.add(statement.operation());
			findings.add(new MigrationPlan.Finding(step.value(), statement.source(), statement.index(),
					statement.operation().code(),
					statement.operation().reason()
							+ ((statement.detail() != null) ? " [" + statement.detail() + "]" : "") + ". Safe way: "
							+ statement.operation().recipe(),
					verdict(migration, source, statement)));
		}
		return findings;
	}

	private static String verdict(MigrationDefinition migration, Source source, UnsafeStatement found) {
		DdlStatement statement = source.script()
			.statements()
			.stream()
			.filter((candidate) -> candidate.index() == found.index())
			.findFirst()
			.orElseThrow();
		String code = found.operation().code();
		if (PlanSources.APPLIED.equals(source.status(statement))) {
			return "applied already";
		}
		if (statement.allowed().contains(code)) {
			return "allowed by -- zdm:allow " + code;
		}
		if (migration.allowedUnsafe().contains(code)) {
			return "allowed by zdm.migrations." + migration.id() + ".allow-unsafe";
		}
		if (source.script().name().startsWith("contributor:")) {
			return "generated: not checked at start-up";
		}
		return "refused at start-up";
	}

	private List<MigrationPlan.Statement> statements(DdlStep step, List<Source> sources,
			Map<String, Set<UnsafeOperation>> unsafe, Map<String, MigrationPlan.TableSize> sizes) {
		List<MigrationPlan.Statement> statements = new ArrayList<>();
		for (Source source : sources) {
			String name = source.script().name();
			for (DdlStatement statement : source.script().statements()) {
				Set<UnsafeOperation> operations = unsafe.getOrDefault(key(step, name, statement.index()), Set.of());
				StatementLock lock = StatementLock.of(statement, operations);
				MigrationPlan.TableSize size = (lock.table() != null) ? size(sizes, lock.table()) : null;
				if (lock.also() != null) {
					size(sizes, lock.also());
				}
				List<String> findings = operations.stream()
					.map((operation) -> operation.code() + ": " + operation.reason())
					.toList();
				statements.add(new MigrationPlan.Statement(statements.size() + 1, step.value(), name, statement.index(),
						statement.sql(), source.status(statement), lock.level().value(), lock.table(),
						lock.work().name().toLowerCase(java.util.Locale.ROOT), lock.level().blocks(), lock.also(),
						lock.note(), (size != null) ? size.rows() : null, (size != null) ? size.bytes() : null,
						findings));
			}
		}
		return statements;
	}

	private MigrationPlan.@Nullable TableSize size(Map<String, MigrationPlan.TableSize> sizes, String table) {
		if (sizes.containsKey(table)) {
			return sizes.get(table);
		}
		TableEstimate estimate = this.ddlCatalog.tableEstimate(table);
		if (estimate == null) {
			return null;
		}
		MigrationPlan.TableSize size = sizes.values()
			.stream()
			.filter((known) -> known.table().equals(estimate.table()))
			.findFirst()
			.orElseGet(() -> new MigrationPlan.TableSize(estimate.table(), estimate.rows(), estimate.analyzed()
					? "pg_class.reltuples" : "pg_stat_all_tables.n_live_tup: the table was never analyzed",
					estimate.bytes()));
		sizes.put(table, size);
		return size;
	}

	private MigrationPlan.@Nullable BackfillEstimate backfillEstimate(MigrationDefinition migration,
			BackfillSettings settings, Map<String, MigrationPlan.TableSize> sizes) {
		if (migration.up().isEmpty()) {
			return null;
		}
		MigrationPlan.TableSize size = size(sizes, migration.table().toString());
		long rows = (size != null) ? size.rows() : 0;
		BackfillProgress progress = progress(migration.id());
		if (progress != null && progress.rate() != null && progress.rate() > 0) {
			double rate = progress.rate();
			long left = Math.max(0, rows - progress.rowsDone());
			return new MigrationPlan.BackfillEstimate(rows, rate, Duration.ofMillis(Math.round(left * 1000 / rate)),
					"the rate measured in the backfill's " + progress.state().value() + " run, "
							+ MigrationPlan.formatRows(progress.rowsDone())
							+ " rows walked so far; time for the rows left");
		}
		// The pacer aims at batches of target-batch-duration, up to max-batch-size rows,
		// with at least the pause between them: the fastest the settings let it go.
		double cycleSeconds = (settings.targetBatchDuration().toNanos() + settings.pause().toNanos()) / 1e9;
		double rate = (cycleSeconds > 0) ? settings.maxBatchSize() / cycleSeconds : Double.NaN;
		// a copy that ran and walks no rows now (paused, held back) has no rate: the
		// settings give the time for the rows it has left
		boolean stopped = progress != null && progress.rowsDone() > 0;
		long toWalk = stopped ? Math.max(0, rows - progress.rowsDone()) : rows;
		String from = (stopped
				? "the backfill walks no rows now (" + progress.state().value()
						+ ((progress.paused() && progress.state() != BackfillState.PAUSED) ? ", pause asked" : "")
						+ "), so for the " + MigrationPlan.formatRows(toWalk) + " rows left from the settings"
				: "no backfill has run yet, so from the settings")
				+ (settings.equals(migration.backfill()) ? "" : " with the live overrides");
		String how = from + ": at most max-batch-size (" + settings.maxBatchSize()
				+ ") rows per target-batch-duration (" + settings.targetBatchDuration().toMillis() + " ms) plus pause ("
				+ settings.pause().toMillis() + " ms)";
		boolean ceilingBound = settings.maxRowsPerSecond() > 0 && !(rate < settings.maxRowsPerSecond());
		if (ceilingBound) {
			rate = settings.maxRowsPerSecond();
			how = from + ": max-rows-per-second (" + settings.maxRowsPerSecond() + ")";
		}
		if (Double.isNaN(rate)) {
			return new MigrationPlan.BackfillEstimate(rows, null, null,
					how + ": no bound; set max-rows-per-second, or run the backfill on a copy to measure it");
		}
		Duration shortest = Duration.ofMillis(Math.round(toWalk * 1000 / rate));
		String busy = ceilingBound ? "" : busy(settings, toWalk, rate);
		return new MigrationPlan.BackfillEstimate(rows, rate, shortest,
				how + ", which is the shortest it can take: the pacing slows the copy down while the workload "
						+ "feels it, so the real time is longer" + busy + "; verification passes come on top");
	}

	/**
	 * Say how long the copy may take at the least pace the pacing keeps beside a busy
	 * workload: {@link #LEAST_SHARE} of the time, in batches of {@link #LEAST_BATCH} or
	 * of {@code min-batch-size} rows if those take longer. A batch of few rows copies
	 * them much slower than the settings' fastest pace (a round trip and a commit each),
	 * so the slower of the two paces bounds the time: 40 times the shortest once read a
	 * few minutes for a copy that took hours under a busy workload.
	 */
	private static String busy(BackfillSettings settings, long toWalk, double rate) {
		double share = LEAST_SHARE * rate;
		double smallest = settings.minBatchSize() * LEAST_SHARE / (LEAST_BATCH.toNanos() / 1e9);
		double least = Math.min(share, smallest);
		return String.format(Locale.ROOT,
				" (beside a busy workload the copy may run as little as %.1f%% of the time, in batches of %d ms or of "
						+ "min-batch-size (%d) rows: about %s at %.0f rows/s, longer where such a batch takes longer; "
						+ "until the workload shows it bears more)",
				LEAST_SHARE * 100, LEAST_BATCH.toMillis(), settings.minBatchSize(),
				MigrationPlan.formatDuration(Duration.ofMillis(Math.round(toWalk * 1000 / least))), least);
	}

	private @Nullable BackfillProgress progress(String migrationId) {
		if (this.backfill == null
				|| !this.ddlCatalog.relationExists(this.states.tables().qualify(ZDM_BACKFILL_TABLE))) {
			return null;
		}
		return this.backfill.progress(migrationId);
	}

	private String expandSummary(MigrationDefinition migration, List<MigrationPlan.Statement> statements) {
		if (statements.isEmpty()) {
			return "no expand DDL";
		}
		return "the expand DDL runs on one instance of the fleet, in the background while instances serve through "
				+ "the old schema (or at start-up with zdm.ddl.expand-at-startup), each statement in a transaction "
				+ "of its own with lock_timeout " + this.settings.lockTimeout().toMillis()
				+ " ms, retried until it gets its lock; the scripts run through Flyway, recorded in \""
				+ FlywayStep.historyTable(migration.id(), DdlStep.EXPAND) + "\"";
	}

	private static String dualWriteSummary(MigrationDefinition migration) {
		if (migration.sync() == SyncMode.TRIGGER && !migration.isCrossTable() && !migration.up().isEmpty()) {
			return "no DDL: the sync trigger installed at expand fills the other side inside each writing statement";
		}
		if (migration.sync() == SyncMode.APPLICATION) {
			return "no DDL and no trigger: writes go to the implementation marked Schema.BOTH, which sets the old and "
					+ "the new columns in one statement; writers outside the application are found by the "
					+ "backfill's verification and the final check before the contract";
		}
		if (migration.isCrossTable()) {
			return "no DDL: writes go through both repository implementations, old side first, in one transaction";
		}
		return "no DDL: writes go through both repository implementations";
	}

	private static String backfillSummary(MigrationDefinition migration, BackfillSettings settings,
			MigrationPlan.@Nullable BackfillEstimate backfill) {
		if (backfill == null) {
			return "no backfill: the migration has no up expressions";
		}
		return "no DDL: the backfill " + backfill.describe() + ". Each batch is one short transaction: ROW EXCLUSIVE "
				+ "on " + ((migration.targetTable() != null) ? migration.targetTable() : migration.table())
				+ " and row locks on its key range, at most " + settings.targetBatchDuration().toMillis()
				+ " ms long, with " + "lock_timeout " + settings.lockTimeout().toMillis()
				+ " ms; then verification passes in batches of " + settings.verificationBatchSize()
				+ " rows (reads only)";
	}

	private static String readNewSummary(MigrationDefinition migration) {
		return "no DDL: reads come from the new side"
				+ (migration.up().isEmpty() ? "" : "; entered only once the backfill is verified for the whole fleet");
	}

	// the indexes the scripts drop along with their columns, told here before the
	// contract deploy (a fault run's team index was named only once every instance ran
	// contract)
	private String contractSummary(MigrationDefinition migration, List<MigrationPlan.Statement> statements,
			List<DdlScript> scripts) {
		String check = migration.up().isEmpty() ? ""
				: "a final check (reads only) holds it back while old and new do not agree, or while an old column "
						+ "it drops holds values up maps to NULL; then ";
		if (statements.isEmpty()) {
			return "once every live instance runs contract: " + check + "no contract DDL";
		}
		String indexes = scripts.isEmpty() ? null : this.dependents.indexesDroppedAlong(migration, scripts);
		return "once every live instance runs contract: " + check + "the contract DDL runs once, on one instance, "
				+ "each statement with lock_timeout " + this.settings.lockTimeout().toMillis()
				+ " ms and a bounded number of attempts; the scripts run through Flyway, recorded in \""
				+ FlywayStep.historyTable(migration.id(), DdlStep.CONTRACT) + "\""
				+ ((indexes != null) ? ". Besides, " + indexes : "");
	}

	private static String key(DdlStep step, String source, int index) {
		return step.value() + "/" + source + "/" + index;
	}

}
