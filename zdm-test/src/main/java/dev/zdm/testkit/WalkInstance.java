package dev.zdm.testkit;

import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.context.ConfigurableApplicationContext;

import dev.zdm.internal.fleet.MigrationStatus;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * One running instance of the application in a walk.
 */
final class WalkInstance implements AutoCloseable {

	private final String name;

	private final Phase requested;

	private final ConfigurableApplicationContext context;

	private final PhaseController controller;

	WalkInstance(String name, Phase requested, ConfigurableApplicationContext context) {
		this.name = name;
		this.requested = requested;
		this.context = context;
		this.controller = context.getBean(PhaseController.class);
	}

	String name() {
		return this.name;
	}

	Phase requested() {
		return this.requested;
	}

	ConfigurableApplicationContext context() {
		return this.context;
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

	@Override
	public String toString() {
		return this.name;
	}

}
