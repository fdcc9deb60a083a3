package dev.zdm.internal.ddl.script;

import java.util.List;

import org.flywaydb.core.api.MigrationVersion;

/**
 * One expand or contract script of a migration, named as Flyway names versioned
 * migrations ({@code V<version>__<description>.sql}) and split into statements.
 *
 * @param step the step the script belongs to
 * @param version the version from the file name
 * @param description the description from the file name
 * @param name the file name
 * @param location where the script was found, for messages
 * @param checksum a CRC32 checksum of the script's text, as Flyway records it
 * @param statements the script's statements
 */
public record DdlScript(DdlStep step, MigrationVersion version, String description, String name, String location,
		int checksum, List<DdlStatement> statements) {

	/**
	 * Create a script.
	 * @param step the step the script belongs to
	 * @param version the version from the file name
	 * @param description the description from the file name
	 * @param name the file name
	 * @param location where the script was found
	 * @param checksum a checksum of the script's text
	 * @param statements the script's statements
	 */
	public DdlScript {
		statements = List.copyOf(statements);
	}

}
