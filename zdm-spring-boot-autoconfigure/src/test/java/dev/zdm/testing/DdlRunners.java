package dev.zdm.testing;

import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.springframework.core.io.DefaultResourceLoader;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.catalog.DatabaseCatalog;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.ddl.ContractPrecondition;
import dev.zdm.internal.ddl.ContractRunner;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.DdlScriptValidator;
import dev.zdm.internal.ddl.DdlSettings;
import dev.zdm.internal.ddl.ExpandPause;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.ExpandSettings;
import dev.zdm.internal.ddl.FlywayStep;
import dev.zdm.internal.ddl.LockSafeExecutor;
import dev.zdm.internal.ddl.SchemaChangeContributions;
import dev.zdm.internal.ddl.script.DdlCatalog;
import dev.zdm.internal.ddl.script.DdlScriptLoader;
import dev.zdm.internal.ddl.script.UnsafeStatementChecker;
import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.locks.LockInspector;

/**
 * One instance's DDL participants on a data source, wired as {@code ZdmAutoConfiguration}
 * wires them: the script checks, the expand runner and the contract runner, sharing one
 * executor and history.
 *
 * @param validator checks the scripts before anything runs
 * @param expand runs the expand
 * @param contract runs the contract
 * @param pause the fleet-wide pause of the expand
 * @param executor runs each statement
 * @param history the DDL history
 */
public record DdlRunners(DdlScriptValidator validator, ExpandRunner expand, ContractRunner contract, ExpandPause pause,
		LockSafeExecutor executor, DdlHistoryRepository history) {

	/**
	 * Wire the DDL participants of one instance, loading scripts with a default resource
	 * loader.
	 * @param dataSource the instance's data source
	 * @param settings the lock timeout and retry settings
	 * @param expandSettings when the expand runs
	 * @param instance the instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 * @param contractPrecondition what must hold before the contract is claimed
	 * @return the participants
	 */
	public static DdlRunners create(DataSource dataSource, DdlSettings settings, ExpandSettings expandSettings,
			InstanceInfo instance, Duration fleetTimeout, List<SchemaChangeContributor> contributors,
			ContractPrecondition contractPrecondition) {
		DdlHistoryRepository history = new DdlHistoryRepository(dataSource);
		MigrationStateRepository states = new MigrationStateRepository(dataSource);
		MigrationValidator validator = new MigrationValidator(new DatabaseCatalog(dataSource));
		LockSafeExecutor executor = new LockSafeExecutor(dataSource, settings, history, new LockInspector(dataSource));
		FlywayStep scripts = new FlywayStep(dataSource, executor, history,
				new DdlScriptLoader(new DefaultResourceLoader()));
		SchemaChangeContributions contributions = new SchemaChangeContributions(contributors, executor);
		ExpandPause pause = new ExpandPause(dataSource, history, instance);
		return new DdlRunners(
				new DdlScriptValidator(scripts, new UnsafeStatementChecker(new DdlCatalog(dataSource)), validator),
				new ExpandRunner(dataSource, scripts, contributions, pause, history, states, validator, settings,
						expandSettings, instance),
				new ContractRunner(dataSource, dataSource, scripts, contributions, history, states,
						new FleetRegistry(dataSource), settings, instance, fleetTimeout, contractPrecondition),
				pause, executor, history);
	}

	/**
	 * Wire the DDL participants of one instance, loading scripts with a default resource
	 * loader, with no precondition to the contract.
	 * @param dataSource the instance's data source
	 * @param settings the lock timeout and retry settings
	 * @param expandSettings when the expand runs
	 * @param instance the instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 * @return the participants
	 */
	public static DdlRunners create(DataSource dataSource, DdlSettings settings, ExpandSettings expandSettings,
			InstanceInfo instance, Duration fleetTimeout, List<SchemaChangeContributor> contributors) {
		return create(dataSource, settings, expandSettings, instance, fleetTimeout, contributors,
				ContractPrecondition.NONE);
	}

	/**
	 * Wire the DDL participants of one instance whose expand runs in the background.
	 * @param dataSource the instance's data source
	 * @param settings the lock timeout and retry settings
	 * @param instance the instance
	 * @param fleetTimeout how long after its last heartbeat an instance drops out of the
	 * fleet
	 * @param contributors the contributors of further DDL, in order
	 * @return the participants
	 */
	public static DdlRunners create(DataSource dataSource, DdlSettings settings, InstanceInfo instance,
			Duration fleetTimeout, List<SchemaChangeContributor> contributors) {
		return create(dataSource, settings, ExpandSettings.defaults(), instance, fleetTimeout, contributors);
	}

	/**
	 * Return the participants in their order, for a phase controller.
	 * @return the script checks, the expand runner and the contract runner
	 */
	public List<MigrationParticipant> participants() {
		return List.of(this.validator, this.expand, this.contract);
	}

	/**
	 * Stop everything, as the application context does on shutdown: the runners first,
	 * then what they use.
	 */
	public void destroy() {
		this.expand.destroy();
		this.contract.destroy();
		this.pause.destroy();
		this.executor.destroy();
	}

}
