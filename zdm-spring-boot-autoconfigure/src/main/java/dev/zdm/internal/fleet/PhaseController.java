package dev.zdm.internal.fleet;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Runs this instance's side of every declared migration: validates the declarations,
 * creates zdm's tables, lets the {@link MigrationParticipant participants} prepare the
 * database, joins the fleet and then, on every heartbeat, recomputes the effective phase
 * of each migration from the requested phase, the live fleet and the migration's data
 * preconditions.
 * <p>
 * {@link #effectivePhase(String)} is the phase the application's code should act on.
 * Inside a transaction it is fixed: the first call in a transaction decides it for the
 * rest of that transaction.
 */
public class PhaseController implements InitializingBean, DisposableBean {

	private static final Log logger = LogFactory.getLog(PhaseController.class);

	private static final AtomicInteger threadCounter = new AtomicInteger();

	private final DataSource dataSource;

	private final List<MigrationDefinition> declared;

	private final InstanceInfo instance;

	private final FleetSettings settings;

	private final List<MigrationParticipant> participants;

	private final FleetRegistry registry;

	private final MigrationStateRepository states;

	private final PhaseAfterPause afterPause;

	private final MigrationValidator validator;

	private final PhasePolicy policy = new PhasePolicy();

	private final VerificationVoids verificationVoids;

	private final TransactionTemplate transactionTemplate;

	private final Map<String, MigrationRuntime> runtimes = new LinkedHashMap<>();

	private final Object heartbeatMonitor = new Object();

	private @Nullable ScheduledExecutorService heartbeatExecutor;

	private volatile boolean started;

	private int heartbeats;

	/**
	 * Create a controller.
	 * @param dataSource the application's data source, for zdm's own tables
	 * @param registry the fleet
	 * @param states where each migration's state is recorded
	 * @param validator checks the declarations against the catalog
	 * @param migrations the declared migrations
	 * @param instance this instance
	 * @param settings the fleet's timing
	 * @param participants the concerns taking part, in order
	 * @param syncedInTable whether every writer of a migration's table keeps its new side
	 * in sync (a same-table migration's sync trigger is installed): an instance that runs
	 * {@code expand} then does not void a verified backfill
	 */
	public PhaseController(DataSource dataSource, FleetRegistry registry, MigrationStateRepository states,
			MigrationValidator validator, List<MigrationDefinition> migrations, InstanceInfo instance,
			FleetSettings settings, List<MigrationParticipant> participants,
			Predicate<MigrationDefinition> syncedInTable) {
		this.dataSource = dataSource;
		this.registry = registry;
		this.states = states;
		this.validator = validator;
		this.declared = List.copyOf(migrations);
		this.instance = instance;
		this.settings = settings;
		this.afterPause = new PhaseAfterPause(states, settings.timeout());
		this.participants = List.copyOf(participants);
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		Map<TableName, Boolean> partitioned = new ConcurrentHashMap<>();
		this.verificationVoids = new VerificationVoids(states, this.policy, instance.instanceId(), syncedInTable,
				(migration) -> partitioned.computeIfAbsent(migration.table(), validator.catalog()::isPartitioned));
	}

	@Override
	public void afterPropertiesSet() {
		start();
	}

	@Override
	public void destroy() {
		stop();
	}

	/**
	 * Validate, prepare and join the fleet, then start heartbeating. Nothing is written
	 * to the database until every declared migration has been validated.
	 * @throws ZdmConfigurationException if a declaration is wrong, or if the
	 * application's pool had no connection left for a step of the start-up
	 */
	public void start() {
		if (this.started) {
			return;
		}
		List<MigrationDefinition> validated = new ArrayList<>();
		// those whose contract is claimed, or that were abandoned: their triggers and
		// backfills write no column any more
		Set<String> over = new HashSet<>();
		// the step that is running, named if the pool has no connection left for it
		String step = "check the data source";
		try {
			this.participants.forEach((participant) -> participant.checkDataSource(this.declared));
			for (MigrationDefinition migration : this.declared) {
				step = "check migration '" + migration.id() + "' against the database";
				MigrationState state = this.states.find(migration.id());
				this.policy.refuseImpossible(migration, state);
				MigrationDefinition resolved = this.validator.validateBeforeExpand(migration, state.isContracted());
				this.participants.forEach((participant) -> participant.validate(resolved, state));
				validated.add(resolved);
				if (state.isContracted() || state.isAbandoned()) {
					over.add(migration.id());
				}
			}
			step = "check the migrations together";
			MigrationValidator
				.refuseClashes(validated.stream().filter((migration) -> !over.contains(migration.id())).toList());
			this.participants.forEach((participant) -> participant.validateAll(validated));
			if (validated.isEmpty()) {
				logger.info("zdm: no migrations declared");
			}
			new ZdmSchema(this.dataSource, this.states.tables()).migrate();
			for (MigrationDefinition migration : validated) {
				step = "prepare migration '" + migration.id() + "' on this instance";
				this.states.register(migration.id());
				MigrationState state = this.states.find(migration.id());
				this.policy.refuseImpossible(migration, state);
				this.participants.forEach((participant) -> participant.beforeJoin(migration, state));
				MigrationRuntime runtime = new MigrationRuntime(migration);
				// While the expand DDL runs in the background, the new schema is checked
				// on the first heartbeat after.
				if (limits(migration).stream().noneMatch((limit) -> limit.highest() == Phase.EXPAND)) {
					runtime.expanded(validateAfterExpand(migration));
				}
				this.runtimes.put(migration.id(), runtime);
			}
			synchronized (this.heartbeatMonitor) {
				for (MigrationRuntime runtime : this.runtimes.values()) {
					step = "join the fleet with migration '" + runtime.migration().id() + "' (its first heartbeat)";
					heartbeat(runtime);
				}
			}
			// The contract may have been claimed between the checks above and this
			// instance's first heartbeat.
			try {
				for (MigrationRuntime runtime : this.runtimes.values()) {
					this.policy.refuseImpossible(runtime.migration(), runtime.status().state());
				}
			}
			catch (ZdmConfigurationException ex) {
				this.registry.remove(this.instance.instanceId());
				throw ex;
			}
			step = "heartbeat while it waits for the fleet to step back";
			waitForFleetToStepBack();
		}
		catch (RuntimeException ex) {
			throw (ex instanceof ZdmConfigurationException || !PoolConnections.ranOut(ex)) ? ex
					: poolRanOut(step, validated, ex);
		}
		this.started = true;
		this.heartbeatExecutor = Executors.newSingleThreadScheduledExecutor((runnable) -> {
			Thread thread = new Thread(runnable, "zdm-heartbeat-" + threadCounter.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
		long interval = this.settings.heartbeatInterval().toMillis();
		this.heartbeatExecutor.scheduleWithFixedDelay(this::heartbeatAll, interval, interval, TimeUnit.MILLISECONDS);
	}

	// names what may hold the pool's connections as far as zdm knows it: its own work
	// in the background
	private ZdmConfigurationException poolRanOut(String step, List<MigrationDefinition> migrations,
			RuntimeException ex) {
		List<String> held = new ArrayList<>();
		for (MigrationDefinition migration : migrations) {
			for (PhaseLimit limit : limits(migration)) {
				held.add("migration '" + migration.id() + "' held at " + limit.highest() + " (" + limit.reason() + ")");
			}
		}
		return PoolConnections.startUpFailed(step, held, ex);
	}

	/**
	 * Stop heartbeating and leave the fleet, as on a graceful shutdown.
	 */
	public void stop() {
		if (!this.started) {
			return;
		}
		this.started = false;
		ScheduledExecutorService executor = this.heartbeatExecutor;
		if (executor != null) {
			executor.shutdownNow();
			try {
				executor.awaitTermination(this.settings.heartbeatInterval().toMillis() * 2, TimeUnit.MILLISECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
		for (MigrationRuntime runtime : this.runtimes.values()) {
			this.participants.forEach((participant) -> quietly(participant::beforeLeave, runtime.migration()));
		}
		FleetLeave.leave(this.registry, this.instance.instanceId(), this.settings.timeout());
	}

	/**
	 * Heartbeat now and recompute every migration's effective phase, without waiting for
	 * the next scheduled heartbeat.
	 */
	public void refresh() {
		heartbeatAll();
	}

	/**
	 * Request another phase for a migration on this running instance and heartbeat at
	 * once, as the instance's configuration would request it after a restart; the fleet
	 * then decides the effective phase as on every heartbeat. For zdm's test kit, which
	 * moves an instance between two phases whose deploys start nothing differently
	 * instead of restarting it.
	 * @param migrationId the migration
	 * @param phase the phase to request
	 * @throws IllegalArgumentException if no such migration is declared
	 * @throws ZdmConfigurationException if the migration is contracted and the phase is
	 * not {@code contract}
	 */
	public void requestPhase(String migrationId, Phase phase) {
		MigrationRuntime runtime = runtime(migrationId);
		synchronized (this.heartbeatMonitor) {
			this.policy.refuseImpossible(runtime.migration().toBuilder().requestedPhase(phase).build(),
					this.states.find(migrationId));
			runtime.requested(phase);
			heartbeat(runtime);
		}
	}

	/**
	 * Return the phase this instance runs a migration at. Inside a transaction the first
	 * call decides the phase for the rest of that transaction, whatever the heartbeat
	 * decides meanwhile.
	 * @param migrationId the migration
	 * @return the effective phase
	 * @throws IllegalArgumentException if no such migration is declared
	 * @throws IllegalStateException if the controller has not joined the fleet yet
	 */
	public Phase effectivePhase(String migrationId) {
		return runtime(migrationId)
			.effectivePhase((status) -> this.started ? this.afterPause.phase(status) : status.effective());
	}

	/**
	 * Return zdm's tables, in their schema ({@code zdm.schema}).
	 * @return the tables
	 */
	public ZdmTables tables() {
		return this.states.tables();
	}

	/**
	 * Return the data source zdm runs on, whose database holds the migrated tables and
	 * zdm's own.
	 * @return the data source
	 */
	public DataSource dataSource() {
		return this.dataSource;
	}

	/**
	 * Return a migration as this instance saw it at its last heartbeat: requested and
	 * effective phase, why they differ, the fleet and the migration's state.
	 * @param migrationId the migration
	 * @return the status
	 */
	public MigrationStatus status(String migrationId) {
		return runtime(migrationId).status();
	}

	/**
	 * Return a migration's fleet-wide state as the database holds it now, which may have
	 * changed since the last heartbeat (a contract claimed and run between two).
	 * @param migrationId the migration
	 * @return the state
	 */
	public MigrationState currentState(String migrationId) {
		return this.states.find(migrationId);
	}

	/**
	 * Say why a step of a migration that its phase lets run is held back on this instance
	 * (the contract DDL, while a column its scripts drop has dependents), as the concerns
	 * taking part saw it at their last look.
	 * @param migrationId the migration
	 * @return why, or {@code null} if nothing holds a step back
	 */
	public @Nullable String stepHeldBack(String migrationId) {
		return this.participants.stream()
			.map((participant) -> participant.stepHeldBack(migrationId))
			.filter(Objects::nonNull)
			.findFirst()
			.orElse(null);
	}

	/**
	 * Say why a migration's heartbeats do not reach the database, as the endpoint tells
	 * it: its last heartbeat failed; or another migration's on this data source failed
	 * since this one's last got through, for want of a connection (the heartbeats run one
	 * after another, so this one's waits for the pool's connection timeout in turn); or
	 * none of its heartbeats has got through for the fleet timeout, after which the fleet
	 * no longer counts this instance as live.
	 * @param migrationId the migration
	 * @return why, or {@code null} if its heartbeats reach the database
	 */
	public @Nullable String heartbeatFailure(String migrationId) {
		MigrationStatus status = status(migrationId);
		if (status.lastHeartbeatError() != null) {
			return status.lastHeartbeatError();
		}
		for (MigrationRuntime other : this.runtimes.values()) {
			Instant lostAt = other.connectionLostAt();
			MigrationStatus failed = other.current();
			if (lostAt != null && lostAt.isAfter(status.decidedAt()) && failed != null
					&& failed.lastHeartbeatError() != null) {
				return "no heartbeat has reached the database since " + status.decidedAt() + " (that of migration '"
						+ other.migration().id() + "' failed at " + lostAt + ": " + failed.lastHeartbeatError() + ")";
			}
		}
		if (status.decidedAt().isBefore(Instant.now().minus(this.settings.timeout()))) {
			return "no heartbeat has reached the database since " + status.decidedAt() + " (over zdm.fleet.timeout, "
					+ this.settings.timeout() + ")";
		}
		return null;
	}

	/**
	 * Whether this instance's heartbeats reach the database: no migration's
	 * {@link #heartbeatFailure(String)} says otherwise (one failing is enough: the
	 * others' may still wait for a connection).
	 * @return {@code true} if they do
	 */
	public boolean heartbeatsReachTheDatabase() {
		return this.runtimes.keySet().stream().allMatch((id) -> heartbeatFailure(id) == null);
	}

	/**
	 * Whether a heartbeat of this instance failed because the database could not be
	 * reached at all (a connection exception, the server shutting down, a socket that
	 * could not connect), rather than on the database's answer (a full disk, a pool with
	 * no free connection, a refused statement), which {@link #heartbeatFailure(String)}
	 * then names.
	 * @return {@code true} if the last failed heartbeat of some migration could not reach
	 * the database
	 */
	public boolean databaseUnreachable() {
		return this.runtimes.values().stream().anyMatch(MigrationRuntime::lastFailureUnreachable);
	}

	/**
	 * Return every declared migration's status.
	 * @return the statuses, in declaration order
	 */
	public List<MigrationStatus> statuses() {
		return this.runtimes.values().stream().map(MigrationRuntime::status).toList();
	}

	/**
	 * Return the declared migrations, validated against the catalog.
	 * @return the migrations, in declaration order
	 */
	public List<MigrationDefinition> migrations() {
		return this.runtimes.values().stream().map(MigrationRuntime::migration).toList();
	}

	/**
	 * Return a declared migration, validated against the catalog.
	 * @param migrationId the migration
	 * @return the migration
	 * @throws IllegalArgumentException if no such migration is declared, with a message
	 * that lists the declared ones
	 */
	public MigrationDefinition migration(String migrationId) {
		return runtime(migrationId).migration();
	}

	/**
	 * Return this instance.
	 * @return this instance
	 */
	public InstanceInfo instance() {
		return this.instance;
	}

	/**
	 * Return the fleet's timing.
	 * @return the settings
	 */
	public FleetSettings settings() {
		return this.settings;
	}

	// An abandoning instance never runs the expand and routes to the old side whenever
	// the new one may be gone, so it does not need the new schema checked.
	private MigrationDefinition validateAfterExpand(MigrationDefinition migration) {
		if (migration.requestedPhase() == Phase.ABANDON) {
			return migration;
		}
		return this.validator.validateAfterExpand(migration, this.states.find(migration.id()).isContracted());
	}

	private void heartbeatAll() {
		synchronized (this.heartbeatMonitor) {
			for (MigrationRuntime runtime : this.runtimes.values()) {
				try {
					heartbeat(runtime);
				}
				catch (RuntimeException ex) {
					runtime.failed(ex);
					logger.warn("zdm: heartbeat for migration '" + runtime.migration().id() + "' failed: "
							+ MigrationRuntime.describe(ex));
				}
			}
			if (++this.heartbeats % 20 == 0) {
				quietly((retention) -> this.registry.purge(retention), this.settings.retention());
			}
		}
	}

	private void heartbeat(MigrationRuntime runtime) {
		if (!runtime.expandChecked()
				&& limits(runtime.migration()).stream().noneMatch((limit) -> limit.highest() == Phase.EXPAND)) {
			runtime.expanded(validateAfterExpand(runtime.migration()));
		}
		MigrationDefinition migration = runtime.migration();
		@Nullable MigrationStatus previous = runtime.current();
		Instant[] written = new Instant[1];
		MigrationStatus status = Objects.requireNonNull(this.transactionTemplate.execute((transaction) -> {
			List<FleetMember> live = this.registry.lockLiveMembers(migration.id(), this.settings.timeout());
			List<FleetMember> liveOthers = new ArrayList<>(
					live.stream().filter((member) -> !member.instanceId().equals(this.instance.instanceId())).toList());
			FleetMember twin = runtime.sameId()
				.otherProcess(this.instance.instanceId(), migration.id(), live, this.settings.timeout());
			if (twin != null) {
				liveOthers.add(twin);
			}
			MigrationState decidedWith = this.verificationVoids.beforeDecision(runtime, liveOthers);
			Phase current = (previous != null) ? previous.effective() : null;
			PhaseDecision decision = this.policy.decide(migration, current, liveOthers, decidedWith, limits(migration));
			written[0] = this.registry.heartbeat(this.instance, migration.id(), migration.requestedPhase(),
					decision.effective(), decision.heldBackReason());
			MigrationState state = this.verificationVoids.afterDecision(migration, decision.effective(), decidedWith,
					() -> this.registry.lockLiveAndRecentlyLeftMembers(migration.id(), this.settings.timeout()));
			List<FleetMember> fleet = new ArrayList<>(this.registry.members(migration.id(), this.settings.timeout()));
			if (twin != null) {
				// shown, and counted by the participants' checks of the whole fleet
				fleet.add(twin);
			}
			return new MigrationStatus(migration, this.instance.instanceId(), decision.effective(),
					decision.heldBackReason(), fleet, state, Instant.now(), null);
		}));
		runtime.sameId().written(written[0]);
		runtime.heartbeatWritten(written[0]);
		runtime.decided(status);
		if (previous != null && previous.lastHeartbeatError() != null) {
			// an outside run: a WARN when the heartbeats failed, then nothing once they
			// came back
			logger.info("zdm: heartbeat for migration '" + migration.id() + "' reaches the database again (the last "
					+ "one written at " + previous.decidedAt() + "; it failed: " + previous.lastHeartbeatError() + ")");
		}
		logChange(previous, status);
		for (MigrationParticipant participant : this.participants) {
			try {
				participant.afterHeartbeat(status);
			}
			catch (RuntimeException ex) {
				logger.warn("zdm: " + participant.getClass().getSimpleName() + " failed after heartbeat of migration '"
						+ migration.id() + "'", ex);
			}
		}
	}

	private List<PhaseLimit> limits(MigrationDefinition migration) {
		List<PhaseLimit> limits = new ArrayList<>();
		for (MigrationParticipant participant : this.participants) {
			PhaseLimit limit = participant.limit(migration);
			if (limit != null) {
				limits.add(limit);
			}
		}
		return limits;
	}

	private void waitForFleetToStepBack() {
		long deadline = System.nanoTime() + this.settings.joinTimeout().toNanos();
		long pause = Math.max(10, this.settings.heartbeatInterval().toMillis() / 4);
		for (MigrationRuntime runtime : this.runtimes.values()) {
			while (tooFarAhead(runtime.status()) != null && System.nanoTime() < deadline) {
				sleep(pause);
				synchronized (this.heartbeatMonitor) {
					heartbeat(runtime);
				}
			}
			FleetMember ahead = tooFarAhead(runtime.status());
			if (ahead != null) {
				logger.warn("zdm: migration '" + runtime.migration().id() + "': instance " + ahead.instanceId()
						+ " still runs " + ahead.effectivePhase() + ", more than one phase ahead of this instance ("
						+ runtime.status().effective() + "), after " + this.settings.joinTimeout()
						+ "; going back more than one phase at a time is not safe");
			}
		}
	}

	private @Nullable FleetMember tooFarAhead(MigrationStatus status) {
		return status.liveMembers()
			.stream()
			.filter((member) -> member.effectivePhase().isAfter(status.effective().next()))
			.findFirst()
			.orElse(null);
	}

	private void logChange(@Nullable MigrationStatus previous, MigrationStatus status) {
		if (previous != null && previous.effective() == status.effective()
				&& Objects.equals(previous.heldBackReason(), status.heldBackReason())) {
			return;
		}
		String message = "zdm: migration '" + status.migrationId() + "' runs at " + status.effective()
				+ ((status.heldBackReason() != null)
						? " (requested " + status.requested() + ": " + status.heldBackReason() + ")" : "");
		logger.info(message);
	}

	private MigrationRuntime runtime(String migrationId) {
		MigrationRuntime runtime = this.runtimes.get(migrationId);
		if (runtime == null) {
			throw new IllegalArgumentException(
					"No migration '" + migrationId + "' is declared; declared: " + this.runtimes.keySet());
		}
		return runtime;
	}

	private static <T> void quietly(Consumer<T> action, T argument) {
		try {
			action.accept(argument);
		}
		catch (RuntimeException ex) {
			logger.warn("zdm: " + ex.getMessage(), ex);
		}
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
