package dev.zdm.ddl;

import java.util.List;

import dev.zdm.migration.MigrationDefinition;

/**
 * Contributes DDL of its own to a migration's expand and contract steps, for example the
 * trigger that keeps a same-table migration's old and new columns in sync. The statements
 * run through the same lock-safe path as the migration's scripts: after the expand
 * scripts, and before (and after) the contract scripts.
 */
public interface SchemaChangeContributor {

	/**
	 * Return the statements to run with the expand step. They run on every start-up, so
	 * they must be idempotent, and should return nothing when what they create already
	 * exists as it should.
	 * @param migration the migration, validated against the catalog
	 * @return the statements, in order, each a single SQL statement
	 */
	List<String> expandStatements(MigrationDefinition migration);

	/**
	 * Return the statements to run with the contract step, before the contract scripts.
	 * @param migration the migration
	 * @return the statements, in order
	 */
	List<String> contractStatements(MigrationDefinition migration);

	/**
	 * Return the statements to run with the contract step, after the contract scripts:
	 * for example the removal of what {@link #contractStatements} put in place for the
	 * time the scripts run.
	 * @param migration the migration
	 * @return the statements, in order; none by default
	 */
	default List<String> afterContractStatements(MigrationDefinition migration) {
		return List.of();
	}

}
