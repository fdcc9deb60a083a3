package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.core.Ordered;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import dev.zdm.ddl.SchemaChangeContributor;
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
 * statements, then the contract scripts through the {@link FlywayStep}.
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

	private static final Log logger = LogFactory.getLog(ContractRunner.class);

	private final DataSource dataSource;

	private final FlywayStep scripts;

	private final SchemaChangeContributions contributions;

	private final DdlHistoryRepository history;

	private final MigrationStateRepository states;

	private final FleetRegistry registry;

	private final DdlSettings settings;

	private final InstanceInfo instance;

	private final Duration fleetTimeout;

	private final TransactionTemplate transactionTemplate;

	private final ExecutorService contractExecutor = Executors.newSingleThreadExecutor((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-ddl-contract");
		thread.setDaemon(true);
		return thread;
	});

	private final Set<String> contractsRunning = ConcurrentHashMap.newKeySet();

	private volatile ContractPrecondition contractPrecondition = ContractPrecondition.NONE;

	private final Set<String> contractsDone = ConcurrentHashMap.newKeySet();

	private final Map<String, Instant> contractRetryAfter = new ConcurrentHashMap<>();

	/**
	 * Create a runner.
	 * @param dataSource the application's data source
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
	 */
	public ContractRunner(DataSource dataSource, FlywayStep scripts, SchemaChangeContributions contributions,
			DdlHistoryRepository history, MigrationStateRepository states, FleetRegistry registry, DdlSettings settings,
			InstanceInfo instance, Duration fleetTimeout) {
		this.dataSource = dataSource;
		this.scripts = scripts;
		this.contributions = contributions;
		this.history = history;
		this.states = states;
		this.registry = registry;
		this.settings = settings;
		this.instance = instance;
		this.fleetTimeout = fleetTimeout;
		this.transactionTemplate = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
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
					this.contractRetryAfter.put(id, Instant.now().plus(this.settings.maxBackoff()));
					logger.error("zdm: contract of migration '" + id + "' failed; it is retried after "
							+ this.settings.maxBackoff() + ": " + ex.getMessage(), ex);
				}
				finally {
					this.contractsRunning.remove(id);
				}
			});
		}
	}

	/**
	 * Run the contract if this instance may: claim it, then run the contributors'
	 * contract statements and the contract scripts.
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
			else if (contractHeldBack(migration) || !claimContract(migration)) {
				return false;
			}
			this.history.stepStarted(id, DdlStep.CONTRACT, this.instance.instanceId());
			try {
				this.contributions.run(session, migration, DdlStep.CONTRACT, RetryControl.bounded());
				this.scripts.run(session, migration, DdlStep.CONTRACT, migration.contractLocations(),
						RetryControl.bounded());
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

	/**
	 * Set what must hold before a contract is claimed, such as a final check that old and
	 * new agree.
	 * @param contractPrecondition the precondition
	 */
	public void setContractPrecondition(ContractPrecondition contractPrecondition) {
		this.contractPrecondition = contractPrecondition;
	}

	private boolean contractHeldBack(MigrationDefinition migration) {
		String reason = this.contractPrecondition.holdBack(migration);
		if (reason != null) {
			logger.debug("zdm: contract of migration '" + migration.id() + "' is held back: " + reason);
		}
		return reason != null;
	}

	/**
	 * The contract's start: the last point at which it can be refused. Called with the
	 * migration's DDL lock held, once, before the contract DDL first runs; an instance
	 * that resumes a claimed contract does not call it. Claims the contract if every live
	 * instance runs {@code contract}: the check and the mark are one decision, made under
	 * the fleet's lock, where no instance changes phase or joins. Once it is marked the
	 * old schema goes, so a check that must hold before it goes belongs here.
	 * @param migration the migration
	 * @return {@code true} if this instance claimed the contract and runs its DDL now
	 */
	private boolean claimContract(MigrationDefinition migration) {
		String id = migration.id();
		return Boolean.TRUE.equals(this.transactionTemplate.execute((transaction) -> {
			List<FleetMember> live = this.registry.lockLiveMembers(id, this.fleetTimeout);
			FleetMember behind = live.stream()
				.filter((member) -> member.effectivePhase() != Phase.CONTRACT)
				.findFirst()
				.orElse(null);
			if (live.isEmpty() || behind != null) {
				logger.debug("zdm: contract of migration '" + id + "' waits: " + ((behind != null)
						? "instance " + behind.instanceId() + " runs " + behind.effectivePhase() : "no live instance"));
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

	@Override
	public void destroy() {
		this.contractExecutor.shutdownNow();
		try {
			this.contractExecutor.awaitTermination(5, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
