package dev.zdm.internal.ddl.script;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

import org.flywaydb.core.api.MigrationVersion;

import org.springframework.core.io.Resource;
import org.springframework.core.io.ResourceLoader;
import org.springframework.core.io.support.ResourcePatternResolver;
import org.springframework.core.io.support.ResourcePatternUtils;

import dev.zdm.migration.ZdmConfigurationException;

/**
 * Finds a migration's expand or contract scripts in its locations and reads them.
 * Locations are written as for Flyway: {@code classpath:db/zdm/users-email/expand} or
 * {@code filesystem:/path/to/scripts}; every {@code V<version>__<description>.sql} file
 * under a location, sub-folders included, is a script. Reading only: nothing here touches
 * the database.
 */
public class DdlScriptLoader {

	private static final Pattern SCRIPT_NAME = Pattern.compile("V([0-9][0-9._]*)__(.+)\\.sql");

	private static final List<String> TRANSACTION_CONTROL = List.of("begin", "start", "commit", "end", "rollback",
			"abort", "savepoint", "release");

	/**
	 * The version of the baseline of each step's Flyway history, below every script's
	 * version.
	 */
	public static final MigrationVersion BASELINE = MigrationVersion.fromVersion("0");

	private final ResourcePatternResolver resolver;

	/**
	 * Create a loader.
	 * @param resourceLoader the application's resource loader
	 */
	public DdlScriptLoader(ResourceLoader resourceLoader) {
		this.resolver = ResourcePatternUtils.getResourcePatternResolver(resourceLoader);
	}

	/**
	 * Load the scripts of one step of a migration.
	 * @param migrationId the migration, for messages
	 * @param step the step
	 * @param locations the step's locations
	 * @return the scripts, ordered by version
	 * @throws ZdmConfigurationException if a script is misnamed, cannot be parsed,
	 * controls transactions, or shares its version with another
	 */
	public List<DdlScript> load(String migrationId, DdlStep step, List<String> locations) {
		Map<String, DdlScript> byVersion = new LinkedHashMap<>();
		Map<String, Resource> seen = new LinkedHashMap<>();
		for (String location : locations) {
			for (Resource resource : resources(migrationId, step, location)) {
				String url = description(resource);
				if (seen.putIfAbsent(url, resource) != null) {
					continue;
				}
				DdlScript script = read(migrationId, step, location, resource);
				DdlScript clash = byVersion.putIfAbsent(script.version().getVersion(), script);
				if (clash != null) {
					throw new ZdmConfigurationException(migrationId,
							step + " scripts " + clash.location() + " and " + script.location()
									+ " have the same version " + script.version(),
							"Give every " + step + " script of the migration a version of its own.");
				}
			}
		}
		List<DdlScript> scripts = new ArrayList<>(byVersion.values());
		scripts.sort(Comparator.comparing(DdlScript::version));
		return scripts;
	}

	private Resource[] resources(String migrationId, DdlStep step, String location) {
		String pattern = pattern(location);
		try {
			return this.resolver.getResources(pattern);
		}
		catch (IOException ex) {
			throw new ZdmConfigurationException(migrationId,
					"the " + step + " location '" + location + "' cannot be read: " + ex.getMessage(),
					"Check zdm.migrations." + migrationId + "." + step + ".", ex);
		}
	}

	private DdlScript read(String migrationId, DdlStep step, String location, Resource resource) {
		String fileName = String.valueOf(resource.getFilename());
		Matcher matcher = SCRIPT_NAME.matcher(fileName);
		if (!matcher.matches()) {
			throw new ZdmConfigurationException(migrationId,
					step + " script '" + fileName + "' in " + location + " is not named V<version>__<description>.sql",
					"Rename it as Flyway names versioned migrations, for example V1__add_email_address.sql.");
		}
		MigrationVersion version = MigrationVersion.fromVersion(matcher.group(1).replace('_', '.'));
		if (!version.isNewerThan(BASELINE)) {
			throw new ZdmConfigurationException(migrationId,
					step + " script '" + fileName + "' in " + location + " has version " + version
							+ ", which zdm's Flyway history reserves for its baseline",
					"Number the migration's scripts from 1, for example V1__add_email_address.sql.");
		}
		String description = matcher.group(2).replace('_', ' ');
		String sql;
		try {
			sql = resource.getContentAsString(StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			throw new ZdmConfigurationException(migrationId, step + " script " + fileName + " cannot be read",
					"Check the file " + description(resource) + ".", ex);
		}
		List<DdlStatement> statements;
		try {
			statements = SqlScriptParser.parse(sql);
		}
		catch (IllegalArgumentException ex) {
			throw new ZdmConfigurationException(migrationId,
					step + " script " + fileName + " cannot be split into statements: " + ex.getMessage(),
					"Correct the script's quoting or comments.", ex);
		}
		for (DdlStatement statement : statements) {
			if (!statement.tokens().isEmpty() && TRANSACTION_CONTROL.contains(statement.tokens().get(0).value())
					&& statement.tokens().get(0).type() == SqlToken.Type.WORD) {
				throw new ZdmConfigurationException(migrationId,
						step + " script " + fileName + " line " + statement.line() + ": \"" + statement.abbreviated()
								+ "\" controls the transaction",
						"Remove transaction control from the script: zdm runs each statement in a transaction of its "
								+ "own (or outside one when PostgreSQL requires it) with a lock_timeout, and retries it.");
			}
		}
		CRC32 crc = new CRC32();
		crc.update(sql.getBytes(StandardCharsets.UTF_8));
		return new DdlScript(step, version, description, fileName, description(resource), (int) crc.getValue(),
				statements);
	}

	private static String pattern(String location) {
		String path = location.trim();
		String prefix;
		if (path.startsWith("filesystem:")) {
			prefix = "file:";
			path = path.substring("filesystem:".length());
		}
		else if (path.startsWith("classpath:")) {
			prefix = ResourcePatternResolver.CLASSPATH_ALL_URL_PREFIX;
			path = path.substring("classpath:".length());
		}
		else {
			prefix = ResourcePatternResolver.CLASSPATH_ALL_URL_PREFIX;
		}
		while (path.endsWith("/")) {
			path = path.substring(0, path.length() - 1);
		}
		if (prefix.equals(ResourcePatternResolver.CLASSPATH_ALL_URL_PREFIX) && path.startsWith("/")) {
			path = path.substring(1);
		}
		return prefix + path + "/**/*.sql";
	}

	private static String description(Resource resource) {
		try {
			return resource.getURL().toString();
		}
		catch (IOException ex) {
			return resource.getDescription();
		}
	}

}
