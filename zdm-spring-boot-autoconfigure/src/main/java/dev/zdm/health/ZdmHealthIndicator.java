package dev.zdm.health;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillState;
import dev.zdm.backfill.BackfillVerification;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.BackfillRunnerGone;
import dev.zdm.internal.backfill.ContractCheck;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.AbandonProgress;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.ContractRunner;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.ddl.ExpandProgress;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;

/**
 * {@link org.springframework.boot.health.contributor.HealthIndicator} for zdm: down while
 * an instance cannot heartbeat (so the fleet may drop it), up otherwise, with each
 * migration's phases and its problems: a failed backfill or verification, a DDL statement
 * blocked for longer than a threshold, a phase held back for longer than a threshold. A
 * problem never makes the indicator down, as the instance still serves correctly. Under
 * {@code expand}, where each migration's expand DDL stands (what it waits for, who
 * blocked its last attempt, and {@code stalled} once it has been pending for longer than
 * {@code zdm.ddl.expand-alert-after}). A pending or stalled expand never makes the
 * instance down either: it serves correctly through the old schema meanwhile.
 */
public class ZdmHealthIndicator extends AbstractHealthIndicator {

	private final PhaseController controller;

	private final @Nullable ExpandRunner expandRunner;

	private final @Nullable BackfillProgressSampler backfillProgress;

	private final @Nullable DdlActivity ddlActivity;

	private final @Nullable HeldBackTracker heldBack;

	private final @Nullable FinalContractCheck contractCheck;

	private final @Nullable AbandonRunner abandonRunner;

	private final Thresholds thresholds;

	private List<ZdmHealthIndicator> otherDatabases = List.of();

	/**
	 * Create an indicator.
	 * @param controller the phase controller
	 * @param expandRunner the expand runner, whose expand progress is reported, or
	 * {@code null}
	 * @param backfillProgress the backfill progress sampled at each heartbeat, or
	 * {@code null}
	 * @param ddlActivity the DDL this instance runs, or {@code null}
	 * @param heldBack since when phases are held back, or {@code null}
	 * @param contractCheck the final check before each contract, to report a contract it
	 * holds back, or {@code null}
	 * @param abandonRunner the abandon runner, to report where each abandon stands, or
	 * {@code null}
	 * @param thresholds from when a blocked DDL or a held-back phase is a problem
	 */
	public ZdmHealthIndicator(PhaseController controller, @Nullable ExpandRunner expandRunner,
			@Nullable BackfillProgressSampler backfillProgress, @Nullable DdlActivity ddlActivity,
			@Nullable HeldBackTracker heldBack, @Nullable FinalContractCheck contractCheck,
			@Nullable AbandonRunner abandonRunner, Thresholds thresholds) {
		super("zdm health check failed");
		this.controller = controller;
		this.expandRunner = expandRunner;
		this.backfillProgress = backfillProgress;
		this.ddlActivity = ddlActivity;
		this.heldBack = heldBack;
		this.contractCheck = contractCheck;
		this.abandonRunner = abandonRunner;
		this.thresholds = thresholds;
	}

	/**
	 * Set the indicators of the engines zdm runs on other databases of the application,
	 * one each, whose migrations this indicator reports as its own: the application is
	 * down while any engine cannot heartbeat.
	 * @param otherDatabases the indicators of the other databases' engines
	 */
	public void setOtherDatabases(List<ZdmHealthIndicator> otherDatabases) {
		this.otherDatabases = List.copyOf(otherDatabases);
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		builder.up();
		Map<String, Object> expand = new LinkedHashMap<>();
		check(builder, expand);
		this.otherDatabases.forEach((other) -> other.check(builder, expand));
		if (!expand.isEmpty()) {
			builder.withDetail("expand", expand);
		}
	}

	private void check(Health.Builder builder, Map<String, Object> expand) {
		for (MigrationStatus status : this.controller.statuses()) {
			String id = status.migrationId();
			Map<String, Object> details = new LinkedHashMap<>();
			List<String> problems = new ArrayList<>();
			String phase = status.effective().value() + ((status.effective() != status.requested())
					? " (requested " + status.requested() + ": " + status.heldBackReason() + ")" : "");
			details.put("phase", phase);
			// as the endpoint tells it: also while another migration's heartbeat failed
			// for want of a connection, or none got through for the fleet timeout
			String heartbeatFailure = this.controller.heartbeatFailure(id);
			if (heartbeatFailure != null) {
				builder.down();
				problems.add("heartbeat failing: " + heartbeatFailure);
			}
			// a contract the phase lets run that waits for an operator (the DDL role's
			// rights, an object on a dropped column): nothing changes it by itself
			String stepHeldBack = this.controller.stepHeldBack(id);
			if (stepHeldBack != null) {
				details.put("stepHeldBack", stepHeldBack);
				if (ContractRunner.waitsForAnOperator(stepHeldBack)) {
					problems.add(stepHeldBack);
				}
			}
			Duration heldBackFor = (this.heldBack != null) ? this.heldBack.heldBackFor(id) : null;
			if (heldBackFor != null) {
				details.put("heldBackFor", heldBackFor.toString());
				if (heldBackFor.compareTo(this.thresholds.heldBack()) > 0) {
					problems.add("phase held back at " + status.effective() + " for " + heldBackFor + " (over "
							+ this.thresholds.heldBack() + "): " + status.heldBackReason());
				}
			}
			BackfillProgress progress = (this.backfillProgress != null) ? this.backfillProgress.progress(id) : null;
			if (progress != null) {
				// a backfill stopped by its failure budget is paused until resumed: it
				// says failed; a paused one says it once
				boolean saysPaused = progress.state() == BackfillState.FAILED
						|| progress.state() == BackfillState.PAUSED;
				String voided = status.state().voidedVerification();
				if (progress.state() == BackfillState.VERIFIED && voided != null) {
					// the copy's last verification no longer holds: it runs again
					// once the whole fleet keeps both sides in sync
					details.put("backfill", "verification voided: " + voided);
				}
				else {
					BackfillRunnerGone gone = BackfillRunnerGone.of(status, progress);
					details.put("backfill", (gone != null) ? BackfillState.PENDING.value() + " (" + gone
						.description() + ")" : progress.state().value()
								+ ((progress.paused() && !saysPaused) ? " (paused)" : "")
								+ ((progress.throttleReason() != null && (progress.state() == BackfillState.THROTTLED
										|| progress.state() == BackfillState.RUNNING
										|| progress.state() == BackfillState.VERIFYING))
												? ": " + progress.throttleReason() : ""));
					if (gone != null && gone.stalled()) {
						problems.add("backfill stalled: " + gone.description());
					}
				}
				BackfillVerification verification = progress.verification();
				// once the contract ran the old side is gone: the backfill's last record
				// is history, not a problem
				boolean current = !status.state().isContracted();
				if (current && verification != null && !verification.succeeded()) {
					problems.add(
							"backfill verification failed: " + verification.rowsDisagreeing() + " rows disagreed after "
									+ verification.passes() + " passes (fleet " + verification.fleet() + ")");
				}
				else if (current && progress.state() == BackfillState.FAILED) {
					problems.add("backfill failed: " + progress.lastError());
				}
			}
			ContractCheck contractHeld = (this.contractCheck != null) ? this.contractCheck.held(id) : null;
			if (contractHeld != null) {
				details
					.put("contract",
							"held (" + ((contractHeld.rowsDisagreeing() > 0)
									? contractHeld.rowsDisagreeing() + " keys disagree" : "values up maps to NULL")
									+ ")");
				problems.add(contractHeld.reason() + "; keys: " + contractHeld.rows() + "; sessions seen writing: "
						+ contractHeld.writers());
			}
			AbandonProgress abandon = (this.abandonRunner != null) ? this.abandonRunner.progress(id) : null;
			if (abandon != null) {
				details.put("abandon", abandon.state() + ((abandon.detail() != null) ? " " + abandon.detail() : ""));
				if (AbandonProgress.FAILED.equals(abandon.state())) {
					problems.add("abandon failed (it is tried again): " + abandon.detail());
				}
			}
			DdlActivity.Blocked blocked = (this.ddlActivity != null) ? this.ddlActivity.blocked(id) : null;
			if (blocked != null && blocked.duration().compareTo(this.thresholds.ddlBlocked()) > 0) {
				problems.add(blocked.key() + " blocked for " + blocked.duration() + " (over "
						+ this.thresholds.ddlBlocked() + ", " + blocked.lockTimeouts() + " lock timeouts); "
						+ describe(blocked) + " (statement: " + blocked.statement() + ")");
			}
			if (!problems.isEmpty()) {
				details.put("problems", problems);
			}
			builder.withDetail(id, details);
		}
		if (this.expandRunner != null) {
			for (MigrationStatus status : this.controller.statuses()) {
				ExpandProgress progress = this.expandRunner.expandProgress(status.migrationId());
				if (progress != null && progress.state() != ExpandProgress.State.DONE) {
					expand.put(status.migrationId(), progress);
				}
			}
		}
	}

	private static String describe(DdlActivity.Blocked blocked) {
		if (blocked.blockers().isEmpty()) {
			return "the blocking session was gone before it could be identified";
		}
		return "blocked by "
				+ String.join("; ", blocked.blockers().stream().map((session) -> session.describe()).toList());
	}

	/**
	 * From when a blocked DDL statement or a held-back phase is reported as a problem.
	 *
	 * @param ddlBlocked how long a DDL statement may keep timing out on its lock
	 * @param heldBack how long a phase may be held back
	 */
	public record Thresholds(Duration ddlBlocked, Duration heldBack) {

		/** One minute for a blocked DDL statement, one hour for a held-back phase. */
		public static final Thresholds DEFAULTS = new Thresholds(Duration.ofMinutes(1), Duration.ofHours(1));

	}

}
