package dev.zdm.actuate.endpoint;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.audit.AuditEvent;
import org.springframework.boot.actuate.audit.AuditEventRepository;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.context.ApplicationEventPublisher;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.BackfillOverrides;
import dev.zdm.internal.backfill.ContractCheck;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.ExpandProgress;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.MigrationPlan;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.locks.LockFiguresSampler;
import dev.zdm.migration.MigrationDefinition;

/**
 * {@link Endpoint @Endpoint} that shows every migration: requested and effective phase
 * and why they differ, the fleet, the migration's state, its table's lock figures, its
 * backfill's progress and verification and its DDL history. Its write operations (pause,
 * resume or verify a backfill; pause or resume an expand DDL for the whole fleet) are off
 * unless {@code management.endpoint.zdm.access=unrestricted}.
 */
@Endpoint(id = "zdm", defaultAccess = Access.READ_ONLY)
public class ZdmEndpoint {

	private final PhaseController controller;

	private final BackfillService backfill;

	private final @Nullable ExpandRunner expandRunner;

	private final @Nullable FinalContractCheck contractCheck;

	private final @Nullable MigrationPlanner planner;

	private final @Nullable BackfillTuning tuning;

	private final MigrationDescriber describer;

	private final OperatorActionRecorder recorder;

	private List<ZdmEndpoint> otherDatabases = List.of();

	/**
	 * Create an endpoint. Every write operation is recorded: who (the authenticated
	 * principal, else {@code anonymous}), which instance, when and why, in
	 * {@code zdm_operator_action}, as a {@link ZdmOperatorActionEvent} and, with an audit
	 * event repository, as a Boot {@link AuditEvent} of type
	 * {@value ZdmOperatorActionEvent#AUDIT_EVENT_TYPE}.
	 * @param controller the phase controller
	 * @param lockFigures the lock figures sampled at each heartbeat
	 * @param backfill the backfill's progress and controls
	 * @param ddlHistory the DDL history
	 * @param expandRunner the expand runner, to show where each migration's expand DDL
	 * stands on this instance and pause it, or {@code null}
	 * @param contractCheck the final check before each contract, to show it and act on
	 * it, or {@code null}
	 * @param abandonRunner the abandon runner, to show where each abandon stands on this
	 * instance, or {@code null}
	 * @param planner the planner that shows what each phase of a migration will do, or
	 * {@code null}
	 * @param backfillOverrides where operators' live, fleet-wide changes of the settings
	 * that pace each backfill are stored, or {@code null} for no live tuning
	 * @param operatorActions where actions are stored, or {@code null}
	 * @param eventPublisher where the events are published, or {@code null}
	 * @param auditEvents where audit events are added, or {@code null}
	 */
	public ZdmEndpoint(PhaseController controller, LockFiguresSampler lockFigures, BackfillService backfill,
			DdlHistoryRepository ddlHistory, @Nullable ExpandRunner expandRunner,
			@Nullable FinalContractCheck contractCheck, @Nullable AbandonRunner abandonRunner,
			@Nullable MigrationPlanner planner, @Nullable BackfillOverrideRepository backfillOverrides,
			@Nullable OperatorActionRepository operatorActions, @Nullable ApplicationEventPublisher eventPublisher,
			@Nullable AuditEventRepository auditEvents) {
		this.controller = controller;
		this.backfill = backfill;
		this.expandRunner = expandRunner;
		this.contractCheck = contractCheck;
		this.planner = planner;
		this.tuning = (backfillOverrides != null) ? new BackfillTuning(backfillOverrides) : null;
		this.describer = new MigrationDescriber(lockFigures, backfill, ddlHistory, expandRunner, contractCheck,
				abandonRunner, this.tuning, operatorActions);
		this.recorder = new OperatorActionRecorder(this, controller, operatorActions, eventPublisher, auditEvents);
	}

	/**
	 * Set the endpoints of the engines zdm runs on other databases of the application,
	 * one each, whose migrations this endpoint lists and acts on as its own.
	 * @param otherDatabases the endpoints of the other databases' engines
	 */
	public void setOtherDatabases(List<ZdmEndpoint> otherDatabases) {
		this.otherDatabases = List.copyOf(otherDatabases);
	}

	private ZdmEndpoint owner(String id) {
		for (ZdmEndpoint other : this.otherDatabases) {
			if (other.controller.migrations().stream().anyMatch((migration) -> migration.id().equals(id))) {
				return other;
			}
		}
		return this;
	}

	/**
	 * Return the ids of the migrations this endpoint shows, its own and those of the
	 * other databases' engines, in declaration order, without reading the database.
	 * @return the ids
	 */
	List<String> declaredIds() {
		List<String> ids = new ArrayList<>();
		this.controller.migrations().forEach((migration) -> ids.add(migration.id()));
		this.otherDatabases.forEach((other) -> ids.addAll(other.declaredIds()));
		return ids;
	}

	@ReadOperation
	public ZdmDescriptor migrations() {
		Map<String, MigrationDescriptor> migrations = new LinkedHashMap<>();
		boolean reachable = MigrationDescriber.reachable(this.controller);
		this.controller.statuses()
			.forEach((status) -> migrations.put(status.migrationId(), describe(status, reachable)));
		this.otherDatabases.forEach((other) -> migrations.putAll(other.migrations().migrations()));
		List<String> queue = migrations.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().pacing().queued())
			.map(Map.Entry::getKey)
			.toList();
		return new ZdmDescriptor(InstanceDescriptor.of(this.controller.instance()), migrations, queue);
	}

	@ReadOperation
	public @Nullable MigrationDescriptor migration(@Selector String id) {
		ZdmEndpoint owner = owner(id);
		if (owner != this) {
			return owner.migration(id);
		}
		return this.controller.migrations()
			.stream()
			.filter((migration) -> migration.id().equals(id))
			.findFirst()
			.map((migration) -> describe(this.controller.status(id), MigrationDescriber.reachable(this.controller)))
			.orElse(null);
	}

	// the state as the database holds it now, read after the DDL history: a contract
	// claimed and run since the last heartbeat showed as done in the history while the
	// state still said not contracted
	private MigrationDescriptor describe(MigrationStatus status, boolean reachable) {
		return this.describer.describe(status, reachable, this.controller.stepHeldBack(status.migrationId()),
				this.controller::currentState);
	}

	/**
	 * Show what each phase of a migration will do, computed without writing anything:
	 * {@code GET /actuator/zdm/{id}/plan}.
	 * @param id the migration
	 * @param view {@code plan}
	 * @return the plan, structured and as text, or {@code null} if no such migration is
	 * declared
	 */
	@ReadOperation
	public @Nullable PlanDescriptor plan(@Selector String id, @Selector String view) {
		MigrationPlan plan = computePlan(id, view);
		return (plan != null) ? new PlanDescriptor(plan, plan.render()) : null;
	}

	/**
	 * Show what each phase of a migration will do as text, for
	 * {@code curl -H 'Accept: text/plain'}.
	 * @param id the migration
	 * @param view {@code plan}
	 * @return the plan as text, or {@code null} if no such migration is declared
	 */
	@ReadOperation(produces = "text/plain;charset=UTF-8")
	public @Nullable String textPlan(@Selector String id, @Selector String view) {
		MigrationPlan plan = computePlan(id, view);
		return (plan != null) ? plan.render() : null;
	}

	private @Nullable MigrationPlan computePlan(String id, String view) {
		ZdmEndpoint owner = owner(id);
		if (owner != this) {
			return owner.computePlan(id, view);
		}
		if (!"plan".equals(view)) {
			throw new InvalidEndpointRequestException("Unknown view '" + view + "'",
					"Unknown view '" + view + "': use GET /actuator/zdm/" + id + "/plan");
		}
		MigrationPlanner planner = this.planner;
		if (planner == null) {
			throw new InvalidEndpointRequestException("No planner",
					"This application has no MigrationPlanner bean, so there is no plan to show");
		}
		BackfillTuning tuning = this.tuning;
		return (tuning != null) ? planner.plan(id, tuning::effective) : planner.plan(id);
	}

	/**
	 * Control a migration's backfill, from any instance of the fleet.
	 * @param id the migration
	 * @param action {@code pause}, {@code resume} or {@code verify} (verify again, and
	 * repair)
	 * @return the backfill's progress after the action
	 */
	public @Nullable BackfillProgress backfill(String id, String action) {
		return backfill(id, action, null, SecurityContext.NONE);
	}

	/**
	 * Control a migration's backfill, from any instance of the fleet.
	 * @param id the migration
	 * @param action {@code pause}, {@code resume} or {@code verify} (verify again, and
	 * repair)
	 * @param reason why, recorded with who asked
	 * @param securityContext who asks
	 * @return the backfill's progress after the action
	 */
	@WriteOperation
	public @Nullable BackfillProgress backfill(@Selector String id, @Selector String action, @Nullable String reason,
			SecurityContext securityContext) {
		ZdmEndpoint owner = owner(id);
		if (owner != this) {
			return owner.backfill(id, action, reason, securityContext);
		}
		MigrationDefinition migration = requireDeclaredAndReachable(id);
		OperatorActionRecorder.requireRecordableReason(reason);
		if (!"pause".equals(action) && !"resume".equals(action) && !"verify".equals(action)) {
			throw new InvalidEndpointRequestException("Unknown backfill action '" + action + "'",
					"Unknown backfill action '" + action + "': use pause, resume or verify, as in POST /actuator/zdm/"
							+ id + "/pause");
		}
		requireBackfill(migration, action);
		switch (action) {
			case "pause" -> this.backfill.pause(id);
			case "resume" -> this.backfill.resume(id);
			default -> this.backfill.verify(id);
		}
		this.recorder.record(id, "backfill." + action, reason, securityContext);
		// as GET /actuator/zdm/{id} shows it (a runner gone, a verification voided)
		return this.describer.backfill(this.controller.status(id));
	}

	/**
	 * Pause or resume a migration's expand DDL for the whole fleet, from any instance.
	 * @param id the migration
	 * @param step {@code expand}
	 * @param action {@code pause} or {@code resume}
	 * @return where the expand stands on this instance after the action
	 */
	public ExpandProgress ddl(String id, String step, String action) {
		return (ExpandProgress) ddl(id, step, action, null, SecurityContext.NONE);
	}

	/**
	 * Pause or resume a migration's expand DDL for the whole fleet, or act on the final
	 * check that holds its contract back, from any instance.
	 * @param id the migration
	 * @param step {@code expand} or {@code contract}
	 * @param action {@code pause} or {@code resume} for the expand; {@code recheck},
	 * {@code apply-old} or {@code override} for the contract
	 * @param reason why, recorded with who asked; required for {@code apply-old} and
	 * {@code override}
	 * @param securityContext who asks
	 * @return where the expand stands on this instance, or the final check, after the
	 * action
	 */
	@WriteOperation
	public Object ddl(@Selector String id, @Selector String step, @Selector String action, @Nullable String reason,
			SecurityContext securityContext) {
		ZdmEndpoint owner = owner(id);
		if (owner != this) {
			return owner.ddl(id, step, action, reason, securityContext);
		}
		MigrationDefinition migration = requireDeclaredAndReachable(id);
		OperatorActionRecorder.requireRecordableReason(reason);
		if ("contract".equals(step)) {
			return contract(migration, action, reason, securityContext);
		}
		if (!"expand".equals(step)) {
			throw new InvalidEndpointRequestException("Unknown step '" + step + "'", "Unknown step '" + step
					+ "': use expand (pause, resume) or contract (recheck, apply-old, "
					+ "override), as in POST /actuator/zdm/" + id + "/expand/pause"
					+ ("backfill".equals(step)
							? "; the backfill is paused, resumed and verified again with POST /actuator/zdm/" + id
									+ "/pause, /resume and /verify, and its settings change with POST /actuator/zdm/"
									+ id + "/backfill/tuning/set"
							: ""));
		}
		if (!"pause".equals(action) && !"resume".equals(action)) {
			throw new InvalidEndpointRequestException("Unknown expand action '" + action + "'",
					"Unknown expand action '" + action + "': use pause or resume, as in POST /actuator/zdm/" + id
							+ "/expand/pause");
		}
		ExpandRunner runner = this.expandRunner;
		if (runner == null) {
			throw new InvalidEndpointRequestException("No DDL runner",
					"This application runs no expand DDL (no ExpandRunner bean), so there is none to " + action);
		}
		try {
			ExpandProgress progress = "pause".equals(action) ? runner.pauseExpand(id) : runner.resumeExpand(id);
			this.recorder.record(id, "expand." + action, reason, securityContext);
			return progress;
		}
		catch (IllegalStateException ex) {
			throw new InvalidEndpointRequestException(String.valueOf(ex.getMessage()), String.valueOf(ex.getMessage()));
		}
	}

	/**
	 * Change the settings that pace a migration's backfill, live and fleet-wide (every
	 * instance reads them at its next heartbeat), or clear them, from any instance:
	 * {@code POST /actuator/zdm/{id}/backfill/tuning/set} with the settings to change,
	 * {@code .../clear} to go back to the declared ones.
	 * @param id the migration
	 * @param step {@code backfill}
	 * @param setting {@code tuning}
	 * @param action {@code set} or {@code clear}
	 * @param initialBatchSize rows in the next batch
	 * @param minBatchSize fewest rows in a batch
	 * @param maxBatchSize most rows in a batch
	 * @param targetBatchDuration the longest a copy batch should take, such as
	 * {@code 200ms}
	 * @param pause least pause between two copy batches
	 * @param maxRowsPerSecond most rows per second, 0 for no ceiling
	 * @param maxLatencyIncrease the workload's latency budget, such as {@code 20%}
	 * @param maxLockWaiters most sessions waiting on a lock on the table before the
	 * backfill holds back
	 * @param maxTransactionAge age of the oldest transaction above which it holds back,
	 * {@code 0s} for never
	 * @param maxReplicationLag replica lag above which it holds back, {@code 0s} for
	 * never
	 * @param maxWalArchiveBacklog WAL segments waiting for the archiver above which it
	 * holds back, {@code 0} for never
	 * @param maxWalRate WAL the database may write per second before it holds back, such
	 * as {@code 64MB}, {@code 0} for no ceiling
	 * @param reason why, recorded with who asked
	 * @param securityContext who asks
	 * @return the backfill's tuning after the change
	 */
	@WriteOperation
	public BackfillTuning.TuningDescriptor tuning(@Selector String id, @Selector String step, @Selector String setting,
			@Selector String action, @Nullable String initialBatchSize, @Nullable String minBatchSize,
			@Nullable String maxBatchSize, @Nullable String targetBatchDuration, @Nullable String pause,
			@Nullable String maxRowsPerSecond, @Nullable String maxLatencyIncrease, @Nullable String maxLockWaiters,
			@Nullable String maxTransactionAge, @Nullable String maxReplicationLag,
			@Nullable String maxWalArchiveBacklog, @Nullable String maxWalRate, @Nullable String reason,
			SecurityContext securityContext) {
		ZdmEndpoint owner = owner(id);
		if (owner != this) {
			return owner.tuning(id, step, setting, action, initialBatchSize, minBatchSize, maxBatchSize,
					targetBatchDuration, pause, maxRowsPerSecond, maxLatencyIncrease, maxLockWaiters, maxTransactionAge,
					maxReplicationLag, maxWalArchiveBacklog, maxWalRate, reason, securityContext);
		}
		MigrationDefinition migration = requireDeclaredAndReachable(id);
		OperatorActionRecorder.requireRecordableReason(reason);
		BackfillTuning tuning = this.tuning;
		if (!"backfill".equals(step) || !"tuning".equals(setting) || tuning == null
				|| (!"set".equals(action) && !"clear".equals(action))) {
			String message = (tuning == null) ? "This application has no live tuning of backfills"
					: "Unknown operation '" + step + "/" + setting + "/" + action + "': use POST /actuator/zdm/" + id
							+ "/backfill/tuning/set with the settings to change, or .../clear; the backfill is paused, "
							+ "resumed and verified again with POST /actuator/zdm/" + id
							+ "/pause, /resume and /verify, "
							+ "the expand with /expand/pause and /expand/resume, the contract's final check with "
							+ "/contract/recheck, /contract/apply-old and /contract/override";
			throw new InvalidEndpointRequestException(message, message);
		}
		requireBackfill(migration, "tune");
		OperatorAction recorded = this.recorder.action(
				"set".equals(action) ? BackfillOverrides.CHANGE_ACTION : BackfillOverrides.CLEAR_ACTION, reason,
				securityContext);
		Map<String, @Nullable String> values = new LinkedHashMap<>();
		values.put("initialBatchSize", initialBatchSize);
		values.put("minBatchSize", minBatchSize);
		values.put("maxBatchSize", maxBatchSize);
		values.put("targetBatchDuration", targetBatchDuration);
		values.put("pause", pause);
		values.put("maxRowsPerSecond", maxRowsPerSecond);
		values.put("maxLatencyIncrease", maxLatencyIncrease);
		values.put("maxLockWaiters", maxLockWaiters);
		values.put("maxTransactionAge", maxTransactionAge);
		values.put("maxReplicationLag", maxReplicationLag);
		values.put("maxWalArchiveBacklog", maxWalArchiveBacklog);
		values.put("maxWalRate", maxWalRate);
		if ("clear".equals(action) && values.values().stream().anyMatch(Objects::nonNull)) {
			String message = "POST /actuator/zdm/" + id + "/backfill/tuning/clear takes no settings (it clears them "
					+ "all, back to the declared ones): send a reason only, or change settings with .../set; "
					+ "nothing was changed";
			throw new InvalidEndpointRequestException(message, message);
		}
		BackfillTuning.TuningDescriptor result = "set".equals(action) ? tuning.change(migration, values, recorded)
				: tuning.clear(migration, recorded);
		this.recorder.record(id, recorded);
		return result;
	}

	// a migration without a backfill has none to act on, and a contracted or abandoned
	// migration's is over: a request to act on it would be recorded while it changed
	// nothing (or, for verify, create a backfill record for none)
	private void requireBackfill(MigrationDefinition migration, String action) {
		String id = migration.id();
		if (!migration.hasBackfill()) {
			String message = "Migration '" + id + "' has no backfill (it declares no up expression), so there is "
					+ "nothing to " + action + "; nothing was changed or recorded";
			throw new InvalidEndpointRequestException(message, message);
		}
		MigrationState state = this.controller.status(id).state();
		if (state.isContracted() || state.isAbandoned()) {
			String message = "Migration '" + id + "' is " + (state.isContracted() ? "contracted" : "abandoned")
					+ ": its backfill is over, so there is nothing to " + action + "; nothing was changed or recorded";
			throw new InvalidEndpointRequestException(message, message);
		}
	}

	private MigrationDefinition requireDeclared(String id) {
		try {
			return this.controller.migration(id);
		}
		catch (IllegalArgumentException ex) {
			String message = String.valueOf(ex.getMessage());
			throw new InvalidEndpointRequestException(message, message);
		}
	}

	// a write operation needs the database: refused at once while the heartbeats do not
	// reach it, rather than held for the pool's connection timeout and failed bare
	private MigrationDefinition requireDeclaredAndReachable(String id) {
		MigrationDefinition migration = requireDeclared(id);
		if (!MigrationDescriber.reachable(this.controller)) {
			// this migration's failure, else the one that makes the instance's count
			String error = Stream
				.concat(Stream.of(id), this.controller.migrations().stream().map(MigrationDefinition::id))
				.map(this.controller::heartbeatFailure)
				.filter(Objects::nonNull)
				.findFirst()
				.orElse("its heartbeats do not reach it");
			if (this.controller.databaseUnreachable()) {
				throw new DatabaseUnreachableException("The database of migration '" + id + "' is unreachable from "
						+ "this instance (" + error + "); nothing was changed. Retry once it is back: GET "
						+ "/actuator/zdm/" + id + " shows the last heartbeat's error until then");
			}
			// reachable, but it fails zdm's writes (a full disk, a pool with no free
			// connection): the write operation would fail the same way
			throw new DatabaseUnreachableException("zdm's heartbeats fail on the database of migration '" + id
					+ "' from this instance (" + error + "); nothing was changed. Mend the cause the error names, "
					+ "then retry: GET /actuator/zdm/" + id + " shows the last heartbeat's error until the heartbeats "
					+ "get through again");
		}
		return migration;
	}

	private ContractCheck contract(MigrationDefinition migration, String action, @Nullable String reason,
			SecurityContext securityContext) {
		String id = migration.id();
		FinalContractCheck check = this.contractCheck;
		if (check == null) {
			throw new InvalidEndpointRequestException("No final contract check",
					"This application runs no final contract check (no FinalContractCheck bean)");
		}
		String trimmed = (reason != null && !reason.isBlank()) ? reason.strip() : null;
		OperatorAction recorded = this.recorder.action("contract." + action, trimmed, securityContext);
		try {
			switch (action) {
				case "recheck" -> check.recheck(id, recorded);
				case "apply-old" -> {
					if (trimmed == null) {
						throw new IllegalArgumentException("Applying the old side of migration '" + id
								+ "' to the new side needs a reason, as in {\"reason\": \"orders written by the "
								+ "billing job\"}; it is recorded with who gave it");
					}
					check.applyOld(migration, recorded);
				}
				case "override" -> check.override(id, recorded);
				default -> throw new IllegalArgumentException("Unknown contract action '" + action
						+ "': use recheck, apply-old or override, as in POST /actuator/zdm/" + id
						+ "/contract/recheck");
			}
		}
		catch (IllegalArgumentException | IllegalStateException ex) {
			throw new InvalidEndpointRequestException(String.valueOf(ex.getMessage()), String.valueOf(ex.getMessage()));
		}
		this.recorder.record(id, recorded);
		return Objects.requireNonNull(MigrationDescriber.shown(check, this.controller.status(id)));
	}

	/**
	 * Every migration this instance runs.
	 *
	 * @param instance this instance
	 * @param migrations the migrations, by id
	 * @param backfillQueue the migrations whose backfill waits for a slot, the fleet's
	 * cap on backfills at once being reached
	 */
	public record ZdmDescriptor(InstanceDescriptor instance, Map<String, MigrationDescriptor> migrations,
			List<String> backfillQueue) implements OperationResponseBody {

	}

	/**
	 * What each phase of a migration will do.
	 *
	 * @param plan the plan, structured
	 * @param text the same plan as text
	 */
	public record PlanDescriptor(MigrationPlan plan, String text) implements OperationResponseBody {

	}

	/**
	 * This instance.
	 *
	 * @param id its id in the fleet
	 * @param version the application's version
	 * @param host the host
	 * @param pid the process id
	 */
	public record InstanceDescriptor(String id, @Nullable String version, String host, long pid) {

		static InstanceDescriptor of(InstanceInfo instance) {
			return new InstanceDescriptor(instance.instanceId(), instance.applicationVersion(), instance.host(),
					instance.pid());
		}

	}

}
