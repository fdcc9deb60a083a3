package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.Ordered;

import dev.zdm.internal.ddl.DdlHistoryRepository.RecordedStatement;
import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.ExpandReversal;
import dev.zdm.internal.ddl.script.ExpandReversal.ExpandStatement;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Abandons a migration that has not contracted ({@code phase: abandon}): once every live
 * instance requests abandon and routes to the old side only (see {@code AbandonPolicy}),
 * one instance claims the abandon, drops what the expand created and makes zdm forget the
 * migration's data.
 * <p>
 * The abandon is claimed as the contract is: under the fleet's lock, where no instance
 * changes phase or joins, with the check that every live instance requests abandon and
 * runs {@code expand}, and the mark in {@code zdm_migration} are one decision. From then
 * on every instance runs {@code expand}, and one that requests another phase is refused
 * at start-up. The drops run with the migration's DDL lock, through the
 * {@link LockSafeExecutor} (lock timeout, retries, DDL history) as the contract's
 * statements do, as step {@code abandon}: they are derived from the expand's statements
 * as the DDL history recorded them ({@link ExpandReversal}), each with {@code IF EXISTS},
 * and an applied one is not run again, so an instance that takes over after the claimer
 * died (or the database restarted) resumes with what is left. The expand's scripts are
 * checked at start-up: one that zdm cannot reverse refuses the abandon, unless the
 * migration declares abandon scripts of its own, which then run in place of the derived
 * drops of the scripts (zdm still drops its sync trigger and the declared columns and
 * indexes). Once the drops are done, the backfill's rows, the verifications and the final
 * check are deleted; the DDL history and the operator actions stay, and the abandon is
 * recorded among them with its reason.
 */
public class AbandonRunner implements MigrationParticipant, Ordered, DisposableBean {

	/**
	 * The order of the runner among the participants: after the {@link ContractRunner}.
	 */
	public static final int ORDER = ContractRunner.ORDER + 1;

	/**
	 * The source of the derived drops in the DDL history.
	 */
	static final String DERIVED_SOURCE = "zdm:reversed-expand";

	/**
	 * The principal of the abandon's operator action: it is declared in the
	 * configuration, not asked for through the endpoint.
	 */
	static final String PRINCIPAL = "configuration";

	private static final String CONTRIBUTOR_PREFIX = "contributor:";

	private static final Log logger = LogFactory.getLog(AbandonRunner.class);

	private final FlywayStep scripts;

	private final LockSafeExecutor executor;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final OperatorActionRepository actions;

	private final AbandonSettings abandonSettings;

	private final InstanceInfo instance;

	private final ClaimedDdlStep step;

	private final Set<String> fleetOnOldSide = ConcurrentHashMap.newKeySet();

	private final Map<String, AbandonProgress> progress = new ConcurrentHashMap<>();

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
	 * @param ddlDataSource where the abandon's DDL session is opened: the application's
	 * data source, or one for the role zdm runs its DDL as ({@code zdm.ddl.user})
	 * @param scripts runs the abandon scripts, if a migration declares any
	 * @param executor runs each derived drop
	 * @param history where the expand's statements are read, and the abandon's progress
	 * recorded
	 * @param states where the abandon is claimed, and the migration's data forgotten
	 * @param registry the fleet, whose live instances must all abandon
	 * @param actions where the abandon is recorded as an operator action
	 * @param settings the retry settings, for the wait before a failed abandon is tried
	 * again
	 * @param abandonSettings the declared reasons and abandon scripts
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 */
	public AbandonRunner(DataSource dataSource, DataSource ddlDataSource, FlywayStep scripts, LockSafeExecutor executor,
			DdlHistoryRepository history, MigrationStateRepository states, FleetRegistry registry,
			OperatorActionRepository actions, DdlSettings settings, AbandonSettings abandonSettings,
			InstanceInfo instance, Duration fleetTimeout) {
		this.scripts = scripts;
		this.executor = executor;
		this.history = history;
		this.states = states;
		this.actions = actions;
		this.abandonSettings = abandonSettings;
		this.instance = instance;
		this.step = new ClaimedDdlStep(DdlStep.ABANDON, dataSource, ddlDataSource, history, registry,
				settings.maxBackoff(), fleetTimeout, logger);
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Refuse an abandon without a reason, and one whose expand scripts zdm cannot reverse
	 * when the migration declares no abandon scripts. Only reads.
	 */
	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		if (migration.requestedPhase() != Phase.ABANDON) {
			return;
		}
		String id = migration.id();
		String prefix = "zdm.migrations." + id + ".";
		if (this.abandonSettings.reason(id) == null) {
			throw new ZdmConfigurationException(id, "requests abandon but gives no reason",
					"Set " + prefix + "abandon-reason to why the migration is abandoned, for example " + prefix
							+ "abandon-reason=the new address model is postponed. It is recorded with "
							+ "the abandon (zdm_operator_action, /actuator/zdm).");
		}
		List<String> locations = this.abandonSettings.locations(id);
		for (String location : locations) {
			if (this.scripts.load(migration, DdlStep.ABANDON, List.of(location)).isEmpty()) {
				throw new ZdmConfigurationException(id,
						"the abandon location '" + location + "' does not exist or holds no scripts",
						"Put the abandon scripts (named V1__<description>.sql) in " + location + ", or correct "
								+ prefix + "abandon.");
			}
		}
		if (!locations.isEmpty() || state.isAbandoned()) {
			return;
		}
		// what the history knows of the statements that ran: whether an IF NOT EXISTS
		// skipped its object as existing
		Map<String, @Nullable Boolean> skipped = new HashMap<>();
		for (RecordedStatement recorded : this.history.startedStatements(id, DdlStep.EXPAND)) {
			if (recorded.applied()) {
				skipped.put(recorded.source() + "#" + recorded.index(), recorded.skippedExisting());
			}
		}
		List<ExpandStatement> statements = new ArrayList<>();
		for (DdlScript script : this.scripts.load(migration, DdlStep.EXPAND)) {
			script.statements()
				.forEach((statement) -> statements.add(new ExpandStatement(script.name(), statement, false,
						skipped.get(script.name() + "#" + statement.index()))));
		}
		List<String> irreversible = ExpandReversal.of(statements).irreversible();
		if (!irreversible.isEmpty()) {
			throw new ZdmConfigurationException(id,
					"requests abandon, but zdm cannot reverse what these statements of its expand scripts do: "
							+ String.join("; ", irreversible) + "; nothing has run",
					"Write abandon scripts that undo everything the expand scripts did, each statement with IF "
							+ "EXISTS so that it can run again after an interruption, and set " + prefix
							+ "abandon to their location, for example classpath:db/zdm/" + id + "/abandon. zdm "
							+ "still drops its own sync trigger and the declared columns and indexes.");
		}
	}

	@Override
	public void beforeJoin(MigrationDefinition migration, MigrationState state) {
		if (migration.requestedPhase() == Phase.ABANDON && !state.isAbandoned()) {
			logger.info("zdm: migration '" + migration.id() + "' is abandoned on this instance ("
					+ this.abandonSettings.reason(migration.id()) + "): it reads the old side, keeps the new side "
					+ "in sync while an instance still needs it, and what the expand created is dropped once every "
					+ "live instance abandons it");
		}
	}

	/**
	 * Start the abandon on another thread once every live instance requests abandon and
	 * routes to the old side only, or resume it if it was claimed and has not finished.
	 */
	@Override
	public void afterHeartbeat(MigrationStatus status) {
		if (status.requested() != Phase.ABANDON) {
			return;
		}
		String id = status.migrationId();
		if (this.step.isRunningOrDone(id)) {
			return;
		}
		MigrationState state = status.state();
		if (!state.isAbandoned()) {
			String waiting = waitingFor(status);
			if (waiting != null) {
				this.fleetOnOldSide.remove(id);
				progress(id, AbandonProgress.WAITING, "for " + waiting + " to route to the old side only", state);
				return;
			}
			// A transaction that began before its instance routed to the old side only
			// may still write the new side: the claim waits a heartbeat more.
			if (this.fleetOnOldSide.add(id)) {
				return;
			}
		}
		this.step.start(id, () -> abandon(status.migration()), (ex) -> {
			// the database may be what failed: what is known of the claim is kept
			AbandonProgress last = this.progress.get(id);
			progress(id, AbandonProgress.FAILED, ex.getMessage(), (last != null) ? last.claimedAt() : null,
					(last != null) ? last.claimedBy() : null);
		});
	}

	/**
	 * Run the abandon if this instance may: claim it, drop what the expand created, then
	 * forget the migration's data.
	 * @param migration the migration
	 * @return {@code true} if this call ran (or finished) the abandon
	 */
	public boolean abandon(MigrationDefinition migration) {
		String id = migration.id();
		return this.step.withLock(id, (session) -> {
			MigrationState state = this.states.find(id);
			if (state.isContracted()) {
				throw new IllegalStateException("Migration '" + id + "' is contracted and cannot be abandoned");
			}
			if (!state.isAbandoned()) {
				if (!claim(migration)) {
					return false;
				}
				state = this.states.find(id);
			}
			else if (this.history.isStepDone(id, DdlStep.ABANDON)) {
				forget(migration, state);
				return false;
			}
			else {
				logger.info("zdm: resuming the abandon of migration '" + id + "' (claimed by instance "
						+ state.abandonedBy() + ")");
			}
			progress(id, AbandonProgress.DROPPING, "on instance " + this.instance.instanceId(), state);
			if (!this.step.runRecorded(id, this.instance.instanceId(), () -> drop(session, migration))) {
				return false;
			}
			forget(migration, state);
			logger.info("zdm: abandon of migration '" + id + "' done on instance " + this.instance.instanceId()
					+ ": what its expand created is dropped and zdm's data of it cleared");
			return true;
		}, () -> {
			MigrationState state = this.states.find(id);
			if (state.isAbandoned()) {
				progress(id, AbandonProgress.DROPPING, "on instance " + state.abandonedBy(), state);
			}
		});
	}

	/**
	 * Return where a migration's abandon stands on this instance.
	 * @param migrationId the migration
	 * @return its progress, or {@code null} if this instance does not abandon it
	 */
	public @Nullable AbandonProgress progress(String migrationId) {
		return this.progress.get(migrationId);
	}

	/**
	 * Return the statements that drop what the expand created, derived from the expand's
	 * statements as the DDL history recorded them: those applied, and a non-transactional
	 * one (a concurrent index build) that started, as it may have left an invalid index.
	 * @param migrationId the migration
	 * @param withScripts whether to reverse the scripts' statements as well as the
	 * contributors'
	 * @return the statements, in the order to run them
	 * @throws DdlExecutionException if a recorded statement cannot be reversed
	 */
	List<String> derivedDrops(String migrationId, boolean withScripts) {
		List<ExpandStatement> ran = new ArrayList<>();
		for (RecordedStatement recorded : this.history.startedStatements(migrationId, DdlStep.EXPAND)) {
			boolean generated = recorded.source().startsWith(CONTRIBUTOR_PREFIX);
			DdlStatement statement = DdlStatement.of(recorded.index(), recorded.sql());
			if ((generated || withScripts) && (recorded.applied() || statement.isNonTransactional())) {
				// one that did not finish may have created what it names
				Boolean skippedExisting = recorded.applied() ? recorded.skippedExisting() : null;
				ran.add(new ExpandStatement(recorded.source(), statement, generated, skippedExisting));
			}
		}
		ExpandReversal reversal = ExpandReversal.of(ran);
		if (!reversal.irreversible().isEmpty()) {
			throw new DdlExecutionException("Migration '" + migrationId + "': the abandon cannot reverse what the "
					+ "expand ran: " + String.join("; ", reversal.irreversible()) + ". Declare abandon scripts "
					+ "(zdm.migrations." + migrationId + ".abandon) that undo it", List.of(), null);
		}
		return reversal.statements();
	}

	private void drop(DdlSession session, MigrationDefinition migration) {
		String id = migration.id();
		List<String> locations = this.abandonSettings.locations(id);
		List<String> drops = derivedDrops(id, locations.isEmpty());
		Map<Integer, Integer> applied = this.history.appliedStatements(id, DdlStep.ABANDON)
			.getOrDefault(DERIVED_SOURCE, Map.of());
		for (int i = 0; i < drops.size(); i++) {
			String sql = drops.get(i);
			if (Objects.equals(applied.get(i + 1), LockSafeExecutor.checksum(sql))) {
				continue;
			}
			logger.info("zdm: abandon of migration '" + id + "': " + sql);
			this.executor.execute(session, new StatementKey(id, DdlStep.ABANDON, DERIVED_SOURCE, i + 1),
					DdlStatement.of(i + 1, sql), RetryControl.bounded());
		}
		if (!locations.isEmpty()) {
			logger.info("zdm: abandon of migration '" + id + "': running the abandon scripts in " + locations);
			this.scripts.run(session, migration, DdlStep.ABANDON, locations, RetryControl.bounded());
		}
	}

	private void forget(MigrationDefinition migration, MigrationState state) {
		String id = migration.id();
		this.states.forget(id);
		this.step.done(id);
		progress(id, AbandonProgress.DONE, null, state);
	}

	/**
	 * The abandon's start, under the fleet's lock: claims it if every live instance
	 * requests abandon and routes to the old side only, and so did every one that left
	 * the fleet less than the fleet timeout ago, and records it as an operator action.
	 */
	private boolean claim(MigrationDefinition migration) {
		String id = migration.id();
		String reason = Objects.requireNonNull(this.abandonSettings.reason(id));
		boolean claimed = this.step.claim(id, (members) -> {
			String waiting = describe(members.stream().filter(AbandonRunner::notYetAbandoning).toList());
			if (members.isEmpty() || waiting != null) {
				logger.debug("zdm: abandon of migration '" + id + "' waits for "
						+ ((waiting != null) ? waiting : "a live instance"));
				if (waiting != null) {
					progress(id, AbandonProgress.WAITING, "for " + waiting + " to route to the old side only", null,
							null);
				}
				return false;
			}
			return this.states.markAbandoned(id, this.instance.instanceId(), reason);
		});
		if (claimed) {
			this.actions.record(id,
					new OperatorAction("abandon", PRINCIPAL, this.instance.instanceId(), reason, Instant.now()));
			logger.info("zdm: every live instance of migration '" + id + "' abandons it and routes to the old side "
					+ "only; instance " + this.instance.instanceId() + " drops what the expand created");
		}
		return claimed;
	}

	// The live instances the claim waits for, this one included.
	private static @Nullable String waitingFor(MigrationStatus status) {
		return describe(status.liveMembers().stream().filter(AbandonRunner::notYetAbandoning).toList());
	}

	private static boolean notYetAbandoning(FleetMember member) {
		return member.requestedPhase() != Phase.ABANDON || member.effectivePhase() != Phase.EXPAND;
	}

	private static @Nullable String describe(List<FleetMember> members) {
		if (members.isEmpty()) {
			return null;
		}
		return members.stream().map(FleetMember::waitedFor).collect(Collectors.joining(", "));
	}

	private void progress(String migrationId, String state, @Nullable String detail, MigrationState migration) {
		progress(migrationId, state, detail, migration.abandonedAt(), migration.abandonedBy());
	}

	private void progress(String migrationId, String state, @Nullable String detail, @Nullable Instant claimedAt,
			@Nullable String claimedBy) {
		AbandonProgress previous = this.progress.get(migrationId);
		AbandonProgress next = new AbandonProgress(state, detail, this.abandonSettings.reason(migrationId), claimedAt,
				claimedBy);
		this.progress.put(migrationId, next);
		if (previous == null || !previous.state().equals(state) || !Objects.equals(previous.detail(), detail)) {
			logger.info("zdm: abandon of migration '" + migrationId + "': " + state
					+ ((detail != null) ? " " + detail : ""));
		}
	}

	@Override
	public void destroy() {
		this.step.stop();
	}

}
