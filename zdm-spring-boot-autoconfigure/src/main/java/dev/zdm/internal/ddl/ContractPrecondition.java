package dev.zdm.internal.ddl;

import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.migration.MigrationDefinition;

/**
 * What must hold before a migration's contract DDL is claimed, asked by the
 * {@link ContractRunner} once every live instance runs {@code contract}, on the instance
 * that holds the migration's DDL lock, before the contract is claimed.
 */
@FunctionalInterface
public interface ContractPrecondition {

	/** A precondition that always holds. */
	ContractPrecondition NONE = (migration) -> null;

	/**
	 * Check whether the contract may run now.
	 * @param migration the migration, with every live instance at {@code contract}
	 * @return {@code null} if it may, else why it is held back
	 */
	@Nullable String holdBack(MigrationDefinition migration);

	/**
	 * Check whether the contract may run now, knowing what it runs.
	 * @param migration the migration, with every live instance at {@code contract}
	 * @param contractScripts its contract scripts
	 * @return {@code null} if it may, else why it is held back
	 */
	default @Nullable String holdBack(MigrationDefinition migration, List<DdlScript> contractScripts) {
		return holdBack(migration);
	}

}
