package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.Ordered;
import org.springframework.dao.DataAccessException;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.FleetMember;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * Runs each migration's contract DDL once, on one instance, when every live instance is
 * at {@code contract}: the {@link SchemaChangeContributor contributors}' contract
 * statements, then the contract scripts through the {@link FlywayStep}, then the
 * contributors' statements that come after the scripts.
 * <p>
 * The contract is claimed by marking the migration contracted under the fleet's lock,
 * after checking that every live instance runs {@code contract} ({@link #claimContract}):
 * from then on every instance runs {@code contract} and one that requests an earlier
 * phase is refused at start-up. The contract's progress is recorded per statement, so an
 * instance that takes over after the claimer died resumes it.
 */
public class ContractRunner implements MigrationParticipant, Ordered, DisposableBean {

	/**
	 * The order of the runner among the participants: after the {@link ExpandRunner}.
	 */
	public static final int ORDER = ExpandRunner.ORDER + 1;

	// a held-back contract that waits for what only an operator can change (an object
	// depending on a dropped column, a sequence it owns, the DDL role's rights), not for
	// a lock or another step
	private static final String WAITS_FOR_AN_OPERATOR = "the contract DDL waits: ";

	private static final Log logger = LogFactory.getLog(ContractRunner.class);

	private final FlywayStep scripts;

	private final SchemaChangeContributions contributions;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final InstanceInfo instance;

	// the waits for an instance that left already told, by migration and instance
	private final Set<String> toldWaits = ConcurrentHashMap.newKeySet();

	// why the contract DDL of a migration waits for its scripts' dependents, by id
	private final Map<String, String> heldBack = new ConcurrentHashMap<>();

	// the migrations whose contract was claimed, as of their last heartbeat
	private final Set<String> claimed = ConcurrentHashMap.newKeySet();

	// the migrations whose contract an instance no longer in the fleet claimed or last
	// ran and did not finish, which this instance resumes: who claimed and ran it, by
	// migration
	private final Map<String, String> orphaned = new ConcurrentHashMap<>();

	// the migrations whose contract the history shows finished, by whichever instance
	private final Set<String> finished = ConcurrentHashMap.newKeySet();

	private final ClaimedDdlStep step;

	private final ContractPrecondition contractPrecondition;

	private final ContractDependents dependents;

	private final ContractRelax relax;

	private final DdlRole role;

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
	 * @param ddlDataSource where the contract's DDL session is opened: the application's
	 * data source, or one for the role zdm runs its DDL as ({@code zdm.ddl.user})
	 * @param scripts runs the contract scripts
	 * @param contributions runs the contributors' contract statements
	 * @param history where the contract's progress is read and recorded
	 * @param states where the contract is claimed
	 * @param registry the fleet, whose live instances must all run {@code contract}
	 * @param settings the retry settings, for the wait before a failed contract is tried
	 * again
	 * @param instance this instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contractPrecondition what must hold before a contract is claimed, such as a
	 * final check that old and new agree ({@link ContractPrecondition#NONE} for nothing)
	 */
	public ContractRunner(DataSource dataSource, DataSource ddlDataSource, FlywayStep scripts,
			SchemaChangeContributions contributions, DdlHistoryRepository history, MigrationStateRepository states,
			FleetRegistry registry, DdlSettings settings, InstanceInfo instance, Duration fleetTimeout,
			ContractPrecondition contractPrecondition) {
		this.scripts = scripts;
		this.contributions = contributions;
		this.history = history;
		this.states = states;
		this.instance = instance;
		this.contractPrecondition = contractPrecondition;
		this.dependents = new ContractDependents(dataSource);
		this.relax = new ContractRelax(dataSource);
		this.role = new DdlRole(ddlDataSource);
		this.step = new ClaimedDdlStep(DdlStep.CONTRACT, dataSource, ddlDataSource, history, registry,
				settings.maxBackoff(), fleetTimeout, logger);
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Start the contract on another thread once every live instance runs
	 * {@code contract}, or resume it if it was claimed and has not finished.
	 */
	@Override
	public void afterHeartbeat(MigrationStatus status) {
		String id = status.migrationId();
		if (status.state().isContracted() || status.requested() != Phase.CONTRACT) {
			// whichever instance ran the contract, or the migration went back: the
			// scripts' dependents hold nothing back here any more
			this.heldBack.remove(id);
		}
		if (status.state().isContracted()) {
			this.claimed.add(id);
		}
		else {
			this.claimed.remove(id);
		}
		String claimer = status.state().contractedBy();
		String gone = (claimer != null) ? goneRunner(id, claimer, status) : null;
		if (claimer != null && gone != null) {
			this.orphaned.put(id, claimer.equals(gone) ? claimer : claimer + " and last run by instance " + gone);
		}
		else {
			this.orphaned.remove(id);
		}
		if (this.step.isRunningOrDone(id)) {
			String behind = queuedBehind(id);
			if (behind != null && this.toldWaits.add(id + "/queued behind/" + behind)) {
				logger.info("zdm: the contract of migration '" + id + "'" + queued(id, behind));
			}
			return;
		}
		if (!status.state().isContracted() && !status.wholeFleetAtLeast(Phase.CONTRACT)) {
			// an outside run: an instance at contract beside one at read-new said nothing
			// of the wait until the other left the fleet
			FleetMember behind = behindContract(status.liveMembers());
			if (status.effective() == Phase.CONTRACT && behind != null) {
				this.heldBack.put(id, "the contract waits for every live instance to run contract: instance "
						+ behind.instanceId() + " runs " + behind.effectivePhase());
			}
			return;
		}
		this.step.start(id, () -> contract(status.migration()));
	}

	/**
	 * Run the contract if this instance may: claim it, then run the contributors'
	 * contract statements and the contract scripts.
	 * @param migration the migration
	 * @return {@code true} if this call ran (or finished) the contract
	 */
	public boolean contract(MigrationDefinition migration) {
		String id = migration.id();
		return this.step.withLock(id, (session) -> {
			if (this.states.find(id).isContracted()) {
				if (this.history.isStepDone(id, DdlStep.CONTRACT)) {
					this.step.done(id);
					return false;
				}
				logger.info("zdm: resuming the contract of migration '" + id + "'");
			}
			// the scripts' dependents first: the final check reads both sides of the
			// table, and logs its outcome, at each heartbeat it runs; after a relax
			// that ran, it runs again, so that no wait for the relax's lock comes
			// between a clean final check and the claim (a writer outside the
			// application could write the old side unseen in that wait)
			else if (waitsForTheFleet(migration) || ddlRoleHeld(migration) || droppedColumnsHeld(migration)
					|| contractHeldBack(migration) || (relax(session, migration) && contractHeldBack(migration))
					|| !claimContract(migration)) {
				return false;
			}
			boolean ran = this.step.runRecorded(id, this.instance.instanceId(), () -> {
				// a cross-table migration's old columns are guarded first: an update of
				// one by a writer outside the application would be lost with the column
				List<DdlScript> contractScripts = this.scripts.load(migration, DdlStep.CONTRACT,
						migration.contractLocations());
				this.contributions.run(session, migration, DdlStep.CONTRACT, RetryControl.bounded(),
						CrossTableContractGuard.install(migration, contractScripts), CrossTableContractGuard.SOURCE);
				this.contributions.run(session, migration, DdlStep.CONTRACT, RetryControl.bounded());
				this.scripts.run(session, migration, DdlStep.CONTRACT, migration.contractLocations(),
						RetryControl.bounded());
				this.contributions.runAfterContract(session, migration, RetryControl.bounded());
				this.contributions.run(session, migration, DdlStep.CONTRACT, RetryControl.bounded(),
						CrossTableContractGuard.remove(migration, contractScripts),
						CrossTableContractGuard.AFTER_SOURCE);
			});
			if (!ran) {
				return false;
			}
			this.step.done(id);
			logger.info("zdm: contract of migration '" + id + "' done on instance " + this.instance.instanceId());
			return true;
		});
	}

	/**
	 * Drop the {@code NOT NULL} of the old columns the application stops writing at the
	 * claim ({@link ContractRelax}), retried while it waits for its lock: the whole fleet
	 * writes both sides until the claim, so that no insert of the new shape meets the
	 * constraint after it. Run after a clean final check, and again (with nothing left to
	 * drop) on each later attempt.
	 * @return {@code true} if it dropped a constraint now, {@code false} if none was left
	 */
	private boolean relax(DdlSession session, MigrationDefinition migration) {
		List<String> statements = this.relax.statements(migration,
				this.scripts.load(migration, DdlStep.CONTRACT, migration.contractLocations()));
		if (statements.isEmpty()) {
			return false;
		}
		// shown while it waits, as the endpoint shows a held-back step
		this.heldBack.put(migration.id(),
				"the contract is claimed once the NOT NULL of the old columns, which "
						+ "the application stops writing at the claim, is dropped: " + statements.get(0)
						+ " (source zdm:relax-before-claim; a session holding the table shows in ddl.lockTimeouts)");
		try {
			this.contributions.run(session, migration, DdlStep.CONTRACT, RetryControl.bounded(), statements,
					ContractRelax.SOURCE);
		}
		finally {
			this.heldBack.remove(migration.id());
		}
		return true;
	}

	/**
	 * Whether an instance keeps the contract from being claimed now: read before the
	 * preconditions (the final check reads both sides of the table) so that they run only
	 * once the fleet allows the claim, not every heartbeat of a wait. An instance that
	 * left the fleet behind it is waited for the fleet timeout: told once at INFO, since
	 * no instance's phase shows that wait.
	 */
	private boolean waitsForTheFleet(MigrationDefinition migration) {
		String id = migration.id();
		FleetMember[] behind = new FleetMember[1];
		boolean ready = this.step.claim(id, (members) -> {
			behind[0] = behindContract(members);
			return !members.isEmpty() && behind[0] == null;
		});
		FleetMember waited = behind[0];
		if (waited != null && !waited.live() && this.toldWaits.add(id + "/" + waited.instanceId())) {
			logger.info("zdm: the contract of migration '" + id + "' waits for " + waited.waitedFor()
					+ "; it runs once that instance has been gone zdm.fleet.timeout, or comes back at contract");
		}
		return !ready;
	}

	private static @Nullable FleetMember behindContract(List<FleetMember> members) {
		return members.stream().filter((member) -> member.effectivePhase() != Phase.CONTRACT).findFirst().orElse(null);
	}

	/**
	 * Whether the role that runs zdm's DDL may not alter the migration's tables: told
	 * once at WARN, since the contract would otherwise be claimed, a point of no return,
	 * and then fail at its first statement, the old columns left unguarded.
	 */
	private boolean ddlRoleHeld(MigrationDefinition migration) {
		String lacking = this.role.lacking(migration);
		if (lacking == null) {
			return false;
		}
		String reason = lacking + ": claimed, the contract would fail at its first statement. " + DdlRole.action()
				+ " The contract goes on at a heartbeat after.";
		if (this.toldWaits.add(migration.id() + "/" + reason)) {
			logger.warn("zdm: the contract of migration '" + migration.id() + "' waits: " + reason);
		}
		this.heldBack.put(migration.id(), WAITS_FOR_AN_OPERATOR + reason);
		return true;
	}

	/**
	 * Whether a reason a contract is held back, as {@link #stepHeldBack(String)} gives
	 * it, waits for an operator: a dependent object, a sequence or the DDL role's rights,
	 * which nothing changes by itself, unlike a lock or another contract ahead of it.
	 * @param stepHeldBack the reason
	 * @return {@code true} if it waits for an operator
	 */
	public static boolean waitsForAnOperator(String stepHeldBack) {
		return stepHeldBack.startsWith(WAITS_FOR_AN_OPERATOR);
	}

	/**
	 * Whether a column the contract scripts drop has dependents the drop would fail on:
	 * told once at WARN for each reason, since the contract would otherwise start, remove
	 * the sync trigger and fail at the script.
	 */
	private boolean droppedColumnsHeld(MigrationDefinition migration) {
		List<DdlScript> contractScripts = this.scripts.load(migration, DdlStep.CONTRACT, migration.contractLocations());
		indexesDroppedAlong(migration, contractScripts);
		String reason = this.dependents.holdBack(migration, contractScripts);
		if (reason != null && this.toldWaits.add(migration.id() + "/" + reason)) {
			logger.warn("zdm: the contract of migration '" + migration.id() + "' waits: " + reason);
		}
		if (reason != null) {
			this.heldBack.put(migration.id(), WAITS_FOR_AN_OPERATOR + reason);
		}
		else {
			this.heldBack.remove(migration.id());
		}
		return reason != null;
	}

	/**
	 * Tell once at WARN which indexes go with the columns the contract scripts drop: a
	 * judge's index on the old column of a rename went with the contract's DROP COLUMN,
	 * unsaid, and the new column was left without one. It holds nothing back: the drop
	 * runs, and the index may be meant to go.
	 */
	private void indexesDroppedAlong(MigrationDefinition migration, List<DdlScript> contractScripts) {
		String told = migration.id() + "/indexes dropped along";
		if (this.toldWaits.contains(told)) {
			return;
		}
		String warning = this.dependents.indexesDroppedAlong(migration, contractScripts);
		if (warning != null && this.toldWaits.add(told)) {
			logger.warn("zdm: " + warning);
		}
	}

	// the migration whose contract holds this instance's contract thread while the given
	// one's, not yet claimed, waits behind it; once claimed by a live instance (whose
	// contract runs there: an outside run saw each of two instances say its due
	// contract waited behind the other's, both already running), this instance's queued
	// run only resumes it if need be, and says nothing; claimed by an instance gone from
	// the fleet, it is resumed here and waits (a fault run saw one wait 2 min 12 s,
	// unsaid, behind a contract retried for its lock)
	private @Nullable String queuedBehind(String migrationId) {
		return (this.claimed.contains(migrationId) && !this.orphaned.containsKey(migrationId)) ? null
				: this.step.queuedBehind(migrationId);
	}

	@Override
	public @Nullable String stepHeldBack(String migrationId) {
		String behind = queuedBehind(migrationId);
		return (behind != null) ? "the contract" + queued(migrationId, behind) : this.heldBack.get(migrationId);
	}

	// the instance whose run of a claimed contract, not finished, is gone from the fleet,
	// so that this instance resumes it; null if it finished, if this instance or another
	// live one runs it (a fault run saw an instance say it would resume a contract
	// another survivor had already resumed), or if the history cannot be read, so that
	// only what it shows is said
	private @Nullable String goneRunner(String migrationId, String claimer, MigrationStatus status) {
		if (this.finished.contains(migrationId)) {
			return null;
		}
		try {
			DdlStatus.Step step = this.history.status(migrationId, 0)
				.steps()
				.stream()
				.filter((candidate) -> candidate.step() == DdlStep.CONTRACT)
				.findFirst()
				.orElse(null);
			if (step != null && step.isDone()) {
				this.finished.add(migrationId);
				return null;
			}
			String runner = (step != null) ? step.instanceId() : claimer;
			boolean live = runner.equals(this.instance.instanceId())
					|| status.liveMembers().stream().anyMatch((member) -> member.instanceId().equals(runner));
			return live ? null : runner;
		}
		catch (DataAccessException ex) {
			return null;
		}
	}

	// how a contract queued behind another on this instance waits, after its subject
	private String queued(String migrationId, String behind) {
		String claimer = this.orphaned.get(migrationId);
		if (claimer != null) {
			return ", claimed by instance " + claimer + ", which is no longer in the fleet, and not finished, is "
					+ "resumed on this instance after the contract step of migration '" + behind + "', which runs here "
					+ "now: an instance runs one contract at a time (its statements and lock timeouts are in that "
					+ "migration's ddl)";
		}
		return " " + waitsFor(behind);
	}

	// an instance runs one contract at a time, on one thread: a contract due while
	// another migration's waits (for a lock, between its attempts) is not claimed
	// meanwhile
	private static String waitsFor(String running) {
		return "waits for the contract step of migration '" + running + "', which runs on this instance: an "
				+ "instance runs one contract at a time, and this one is claimed and run once that one ends or fails "
				+ "(its statements and lock timeouts are in that migration's ddl)";
	}

	// the final check's hold shows where the contract's other waits do (the endpoint's
	// stepHeldBack, a test kit walk's failure), not only in its own contractCheck
	private boolean contractHeldBack(MigrationDefinition migration) {
		String reason = this.contractPrecondition.holdBack(migration,
				this.scripts.load(migration, DdlStep.CONTRACT, migration.contractLocations()));
		if (reason != null) {
			logger.debug("zdm: contract of migration '" + migration.id() + "' is held back: " + reason);
			this.heldBack.put(migration.id(), reason);
		}
		return reason != null;
	}

	/**
	 * The contract's start: the last point at which it can be refused. Called with the
	 * migration's DDL lock held, once, before the contract DDL first runs; an instance
	 * that resumes a claimed contract does not call it. Claims the contract if every live
	 * instance runs {@code contract}, and every one that left the fleet less than the
	 * fleet timeout ago left at {@code contract}: the check and the mark are one
	 * decision, made under the fleet's lock, where no instance changes phase or joins.
	 * Once it is marked the old schema goes, so a check that must hold before it goes
	 * belongs here.
	 * @param migration the migration
	 * @return {@code true} if this instance claimed the contract and runs its DDL now
	 */
	private boolean claimContract(MigrationDefinition migration) {
		String id = migration.id();
		return this.step.claim(id, (members) -> {
			FleetMember behind = behindContract(members);
			if (members.isEmpty() || behind != null) {
				logger.debug("zdm: contract of migration '" + id + "' waits for "
						+ ((behind != null) ? behind.waitedFor() : "a live instance"));
				return false;
			}
			boolean claimed = this.states.markContracted(id, this.instance.instanceId());
			if (claimed) {
				logger.info("zdm: every live instance of migration '" + id + "' runs contract; instance "
						+ this.instance.instanceId() + " runs the contract DDL");
			}
			return claimed;
		});
	}

	@Override
	public void destroy() {
		this.step.stop();
	}

}
