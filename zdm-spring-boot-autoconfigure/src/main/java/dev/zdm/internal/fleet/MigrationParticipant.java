package dev.zdm.internal.fleet;

import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.MigrationDefinition;

/**
 * A concern that takes part in a migration's life on this instance: the DDL, first (the
 * scripts' checks in {@code DdlScriptValidator}, then {@code ExpandRunner} and
 * {@code ContractRunner}), the backfill's scheduler ({@code BackfillParticipant}), and
 * what keeps the figures the endpoint, health and meters read ({@link HeldBackTracker},
 * {@code BackfillProgressSampler}, {@code LockFiguresSampler}). The repository proxies
 * are not participants: they read the effective phase from the controller. Beans of this
 * type are called by the {@link PhaseController} in
 * {@link org.springframework.core.annotation.Order order}.
 */
public interface MigrationParticipant {

	/**
	 * Check the data source, before the migrations are checked against the catalog and
	 * before anything is written to the database: a fault of the connection itself (a
	 * pooler in transaction mode) is named before the catalog's reads fail behind it in
	 * ways that do not name it. Must only read.
	 * @param migrations every declared migration, not yet validated, in declaration order
	 * @throws dev.zdm.migration.ZdmConfigurationException if zdm cannot work through the
	 * data source
	 */
	default void checkDataSource(List<MigrationDefinition> migrations) {
	}

	/**
	 * Check the migration before anything is written to the database, zdm's own tables
	 * included. Must only read.
	 * @param migration the migration, validated against the catalog
	 * @param state the migration's state as recorded, or the initial state if zdm's
	 * tables do not exist yet
	 * @throws dev.zdm.migration.ZdmConfigurationException if the declaration cannot work
	 */
	default void validate(MigrationDefinition migration, MigrationState state) {
	}

	/**
	 * Check the migrations together, once each has passed {@link #validate}, before
	 * anything is written to the database, for example that no two of them create the
	 * same object. Must only read.
	 * @param migrations every declared migration, validated against the catalog, in
	 * declaration order
	 * @throws dev.zdm.migration.ZdmConfigurationException if two migrations clash
	 */
	default void validateAll(List<MigrationDefinition> migrations) {
	}

	/**
	 * Prepare the database at start-up, once zdm's tables exist and before this instance
	 * joins the fleet and serves traffic. Must not wait for locks: long work (the expand
	 * DDL) goes to a background thread, and {@link #limit(MigrationDefinition)} holds the
	 * phase back until it is done.
	 * @param migration the migration, validated against the catalog
	 * @param state the migration's state
	 */
	default void beforeJoin(MigrationDefinition migration, MigrationState state) {
	}

	/**
	 * Return the highest phase this concern lets the instance run the migration at now,
	 * as the expand DDL holds it at {@code expand} until it is done. Called on every
	 * heartbeat, under the fleet's lock: must answer from memory.
	 * @param migration the migration
	 * @return the limit, or {@code null} if this concern does not limit the phase
	 */
	default @Nullable PhaseLimit limit(MigrationDefinition migration) {
		return null;
	}

	/**
	 * React to a new decision, after each heartbeat. Runs on the heartbeat thread:
	 * anything that may take longer than a moment must be handed to another thread.
	 * @param status the migration as this instance now sees it
	 */
	default void afterHeartbeat(MigrationStatus status) {
	}

	/**
	 * Say why this concern holds back a step of the migration that the phase alone would
	 * let run now (the contract DDL of a migration every instance runs at
	 * {@code contract}), for the endpoint and the test kit. Must answer from memory.
	 * @param migrationId the migration
	 * @return why, or {@code null} if it holds nothing back
	 */
	default @Nullable String stepHeldBack(String migrationId) {
		return null;
	}

	/**
	 * Stop, before this instance leaves the fleet on shutdown.
	 * @param migration the migration
	 */
	default void beforeLeave(MigrationDefinition migration) {
	}

}
