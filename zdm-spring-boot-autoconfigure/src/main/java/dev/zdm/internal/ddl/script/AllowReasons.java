package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.ZdmConfigurationException;

/**
 * Refuses a {@code -- zdm:allow <code>} comment without a reason when
 * {@code zdm.ddl.require-allow-reason=true}: at start-up ({@code DdlScriptValidator}) and
 * in the test kit's offline check of the scripts, with the same message.
 */
public final class AllowReasons {

	private AllowReasons() {
	}

	/**
	 * Check that every {@code -- zdm:allow} comment of the scripts gives a reason.
	 * @param migrationId the migration, for the message
	 * @param scripts the scripts to check, those that have not run yet
	 * @throws ZdmConfigurationException naming each script, line and code without a
	 * reason, and how to give one
	 */
	public static void require(@Nullable String migrationId, List<DdlScript> scripts) {
		List<String> bare = new ArrayList<>();
		String example = null;
		for (DdlScript script : scripts) {
			for (DdlStatement statement : script.statements()) {
				for (DdlStatement.Allow allow : statement.allows()) {
					if (allow.reason() == null) {
						bare.add(script.name() + " line " + allow.line() + ": -- zdm:allow " + allow.code());
						example = (example != null) ? example : allow.code();
					}
				}
			}
		}
		if (bare.isEmpty()) {
			return;
		}
		throw new ZdmConfigurationException(migrationId,
				((bare.size() == 1) ? "a -- zdm:allow comment gives" : bare.size() + " -- zdm:allow comments give")
						+ " no reason, which zdm.ddl.require-allow-reason=true requires; nothing has run:\n  - "
						+ String.join("\n  - ", bare),
				"Give the reason after the code and a colon, as in '-- zdm:allow " + example
						+ ": the table has 40 rows'; it is recorded with the statement in the DDL history. Or set "
						+ "zdm.ddl.require-allow-reason=false.");
	}

}
