package dev.zdm.internal.dualwrite;

import java.util.List;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.transaction.PlatformTransactionManager;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Routes repositories when zdm's phase controller does not run
 * ({@code zdm.enabled=false}): each at the phase its migration requests, fixed, with no
 * fleet, no DDL, no sync trigger management, no backfill and nothing looked up in the
 * database. Two requested phases are routed otherwise, because zdm cannot check what
 * makes them safe:
 * <ul>
 * <li>{@code read-new} routes as {@code backfill} (reads stay on the old side, complete
 * in every phase before the contract DDL), since nothing checks that the backfill has
 * been verified;</li>
 * <li>{@code contract} reads and writes the new side only, since nothing can tell whether
 * the contract DDL has dropped the old one.</li>
 * </ul>
 * When zdm is enabled but could not start (no single {@code DataSource}, no Flyway), an
 * {@link #unavailable unavailable} routing refuses every routed repository instead, with
 * the reason.
 */
public final class FixedPhaseRouting {

	private static final Log logger = LogFactory.getLog(FixedPhaseRouting.class);

	private final @Nullable Supplier<List<MigrationDefinition>> migrations;

	private final @Nullable String unavailableReason;

	private final @Nullable String unavailableAction;

	private FixedPhaseRouting(@Nullable Supplier<List<MigrationDefinition>> migrations,
			@Nullable String unavailableReason, @Nullable String unavailableAction) {
		this.migrations = migrations;
		this.unavailableReason = unavailableReason;
		this.unavailableAction = unavailableAction;
	}

	/**
	 * Return a routing for zdm disabled.
	 * @param migrations the declared migrations, read only when a repository is routed
	 * @return the routing
	 */
	public static FixedPhaseRouting disabled(Supplier<List<MigrationDefinition>> migrations) {
		return new FixedPhaseRouting(migrations, null, null);
	}

	/**
	 * Return a routing that refuses every routed repository, for zdm enabled but not
	 * running.
	 * @param reason why zdm does not run, for example
	 * {@code "the application has no DataSource"}
	 * @param action what to do about it
	 * @return the routing
	 */
	public static FixedPhaseRouting unavailable(String reason, String action) {
		return new FixedPhaseRouting(null, reason, action);
	}

	/**
	 * Return the phase a migration is routed at with zdm disabled.
	 * @param requested the phase the migration requests
	 * @return the phase to route at
	 */
	public static Phase routedPhase(Phase requested) {
		return (requested == Phase.READ_NEW) ? Phase.BACKFILL : (requested == Phase.ABANDON) ? Phase.EXPAND : requested;
	}

	/**
	 * Create the routing bean of a repository interface, logging a warning that no fleet
	 * safety applies.
	 * @param <T> the repository interface
	 * @param repository the repository interface
	 * @param migrationId the migration its implementations are marked with
	 * @param implementations the implementations of each side
	 * @param transactionManager the transaction manager to run writes in, looked up once
	 * the routing is known to be possible
	 * @return the routing bean
	 * @throws ZdmConfigurationException if zdm is enabled but not running, the migration
	 * is not declared or a method cannot be routed
	 */
	public <T> T create(Class<T> repository, String migrationId, Implementations<T> implementations,
			Supplier<PlatformTransactionManager> transactionManager) {
		if (this.migrations == null) {
			throw new ZdmConfigurationException(migrationId,
					"repository " + repository.getName() + " is routed by zdm, but zdm is not running: "
							+ this.unavailableReason,
					this.unavailableAction + " Or set zdm.enabled=false to route it at the requested phase without "
							+ "zdm's fleet safety (see zdm's docs/dual-write.md).");
		}
		MigrationDefinition migration = DualWriteRepositoryFactory.declared(repository, migrationId,
				this.migrations.get());
		Phase phase = routedPhase(migration.requestedPhase());
		T routing = DualWriteRepositoryFactory.createAtFixedPhase(repository, migration, this.migrations.get(), phase,
				implementations, transactionManager.get());
		logger.warn("zdm is disabled (zdm.enabled=false): " + repository.getName() + " routes migration '" + migrationId
				+ "' at a fixed phase, " + describe(migration, phase) + ". No fleet keeps this "
				+ "instance within one phase of the others, and zdm runs no DDL, installs or removes no sync "
				+ "trigger, and runs no backfill or verification.");
		return routing;
	}

	private static String describe(MigrationDefinition migration, Phase phase) {
		Phase requested = migration.requestedPhase();
		String routed = (phase != requested) ? phase + " (requested " + requested + ")" : phase.value();
		boolean trigger = migration.sync() == SyncMode.TRIGGER;
		boolean application = migration.sync() == SyncMode.APPLICATION;
		return switch (requested) {
			case EXPAND -> routed + ": reads and writes the old side only";
			case DUAL_WRITE, BACKFILL ->
				routed + (application ? ": reads the old side, writes both sides in one statement (Schema.BOTH)"
						: ": reads and writes the old side, " + (trigger
								? "the new columns kept in sync only by a sync trigger zdm installed while enabled"
								: "then writes the new side in the same transaction"));
			case READ_NEW -> routed + ": nothing checks that the backfill was verified, so reads stay on the old "
					+ "side; "
					+ (application ? "writes both sides in one statement (Schema.BOTH)"
							: "writes the old side, " + (trigger
									? "the new columns kept in sync only by a sync trigger zdm installed while enabled"
									: "then the new side in the same transaction"));
			case ABANDON -> routed + ": reads and writes the old side only; nothing drops what the expand created";
			case CONTRACT -> routed + ": reads and writes the new side only, since nothing can tell whether the "
					+ "contract DDL has dropped the old side";
		};
	}

}
