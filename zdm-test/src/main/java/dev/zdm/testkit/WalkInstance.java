package dev.zdm.testkit;

import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

import dev.zdm.internal.fleet.FleetRegistry;
import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * One running instance of the application in a walk.
 */
final class WalkInstance implements AutoCloseable {

	private final String name;

	private Phase requested;

	private boolean moved;

	private final ConfigurableApplicationContext context;

	private final PhaseController controller;

	WalkInstance(String name, Phase requested, ConfigurableApplicationContext context) {
		this.name = name;
		this.requested = requested;
		this.context = context;
		this.controller = context.getBean(PhaseController.class);
	}

	/**
	 * Return the instance's name for messages: its zdm instance id, and the phase it was
	 * moved to if it was.
	 * @return the name
	 */
	String name() {
		return this.moved ? this.name + ", moved to " + this.requested : this.name;
	}

	/**
	 * Request the next phase for every migration the walk set the phase of, as a restart
	 * with {@code zdm.migrations.<id>.phase} changed would, without the restart: the
	 * walk's property source says the new phase, and zdm's phase controller requests it
	 * and heartbeats at once. The effective phase is then the fleet's decision, as
	 * always.
	 * @param phase the phase
	 */
	void moveTo(Phase phase) {
		MapPropertySource walkProperties = (MapPropertySource) this.context.getEnvironment()
			.getPropertySources()
			.get(PhaseInitializer.PROPERTY_SOURCE);
		if (walkProperties == null) {
			throw new IllegalStateException("Instance " + this.name + " was not started by the walk");
		}
		for (Map.Entry<String, Object> property : walkProperties.getSource().entrySet()) {
			String key = property.getKey();
			if (key.startsWith(PhaseInitializer.MIGRATIONS_PREFIX) && key.endsWith(PhaseInitializer.PHASE_SUFFIX)) {
				property.setValue(phase.value());
				this.controller.requestPhase(key.substring(PhaseInitializer.MIGRATIONS_PREFIX.length(),
						key.length() - PhaseInitializer.PHASE_SUFFIX.length()), phase);
			}
		}
		this.requested = phase;
		this.moved = true;
	}

	Phase requested() {
		return this.requested;
	}

	ConfigurableApplicationContext context() {
		return this.context;
	}

	PhaseController controller() {
		return this.controller;
	}

	MigrationStatus status(String migrationId) {
		return this.controller.status(migrationId);
	}

	List<MigrationDefinition> migrations() {
		return this.controller.migrations();
	}

	@Nullable Integer port() {
		// set by the web server once it listens; absent when the application runs none
		return this.context.getEnvironment().getProperty("local.server.port", Integer.class);
	}

	@Override
	public void close() {
		this.context.close();
	}

	/**
	 * Stop this instance for good, as a deploy's replaced instance: it leaves the fleet,
	 * and its rows go from the registry at once instead of being kept, as a stopped
	 * instance's are, for the contract and the abandon to wait {@code zdm.fleet.timeout}
	 * in case it comes back at its phase. The walk never brings it back.
	 */
	void retire() {
		this.controller.stop();
		this.context.getBean(FleetRegistry.class).remove(this.controller.instance().instanceId());
		this.context.close();
	}

	@Override
	public String toString() {
		return name();
	}

}
