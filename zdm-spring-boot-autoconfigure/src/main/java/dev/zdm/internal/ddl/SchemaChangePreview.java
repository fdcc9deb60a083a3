package dev.zdm.internal.ddl;

import java.util.List;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.ddl.script.ScriptObjects.AddedColumn;
import dev.zdm.migration.MigrationDefinition;

/**
 * A {@link SchemaChangeContributor} whose expand statements depend on the columns the
 * expand adds before them, and which can tell what they will be before those columns
 * exist, for the {@link MigrationPlanner plan}. Only reads.
 */
public interface SchemaChangePreview {

	/**
	 * Return the expand statements the contributor will return once the given columns are
	 * added.
	 * @param migration the migration, its table qualified with its schema
	 * @param added the columns the statements before the contributor's add, in order
	 * @return the statements, in order
	 */
	List<String> expandStatementsAfter(MigrationDefinition migration, List<AddedColumn> added);

}
