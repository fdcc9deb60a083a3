package dev.zdm.internal.dualwrite;

import java.util.Objects;

import org.jspecify.annotations.Nullable;

import dev.zdm.dualwrite.Schema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * The implementations of a repository interface that a routing bean calls, one per side,
 * and the checks that with the migration's sync mode they keep both sides in sync.
 *
 * @param <T> the repository interface
 * @param oldImplementation the implementation against the old schema
 * @param newImplementation the implementation against the new schema
 * @param both the implementation that writes both in one statement, for
 * {@code sync: application}, else {@code null}
 */
public record Implementations<T>(T oldImplementation, T newImplementation, @Nullable T both) {

	Object of(Schema schema) {
		return switch (schema) {
			case OLD -> this.oldImplementation;
			case NEW -> this.newImplementation;
			case BOTH -> Objects.requireNonNull(this.both, "no implementation of both sides");
		};
	}

	/**
	 * Fail unless these implementations keep both sides of the migration in sync: a
	 * trigger needs {@code up} and {@code down}; an implementation of both sides is there
	 * exactly when the migration is synced by the application (one for another mode would
	 * never be called, and without one the application's writes would leave a side
	 * behind).
	 * @param repository the repository interface
	 * @param migration the migration
	 * @throws ZdmConfigurationException if they do not
	 */
	void requireSyncable(Class<?> repository, MigrationDefinition migration) {
		String id = migration.id();
		if (migration.sync() == SyncMode.TRIGGER && (migration.up().isEmpty() || migration.down().isEmpty())) {
			String missing = migration.up().isEmpty() ? "up" : "down";
			throw new ZdmConfigurationException(id,
					"repository " + repository.getName() + " is routed with sync mode trigger, but migration '" + id
							+ "' declares no " + missing + " expressions, so the trigger could not keep the "
							+ (migration.up().isEmpty() ? "new" : "old") + " columns in sync",
					"Declare zdm.migrations." + id + "." + missing + ", or set zdm.migrations." + id
							+ ".sync=repositories if the data moves into another table.");
		}
		if (migration.sync() == SyncMode.APPLICATION && this.both == null) {
			throw new ZdmConfigurationException(id, "repository " + repository.getName()
					+ " is routed with sync mode application, but no implementation is marked with "
					+ "@ZdmRepository(migration = \"" + id + "\", schema = Schema.BOTH), so nothing would write the "
					+ "new columns while the old ones are the source of truth",
					"Provide a bean implementing " + repository.getSimpleName() + " whose writes set the old and the "
							+ "new columns in the same statement, marked with @ZdmRepository(migration = \"" + id
							+ "\", schema = Schema.BOTH), or set zdm.migrations." + id
							+ ".sync=trigger to keep them in sync by a trigger.");
		}
		if (migration.sync() != SyncMode.APPLICATION && this.both != null) {
			throw new ZdmConfigurationException(id,
					"repository " + repository.getName() + " has an implementation marked with Schema.BOTH, but "
							+ "migration '" + id + "' is synced by " + migration.sync() + ", which never calls it",
					"Set zdm.migrations." + id + ".sync=application to route writes to it (no trigger is "
							+ "installed then), or remove the Schema.BOTH implementation.");
		}
	}

}
