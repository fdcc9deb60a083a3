package dev.zdm.testkit;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Checks a migration's expand and contract scripts for unsafe operations in a plain unit
 * test, with the same checks, findings and safe recipes as the application's start-up:
 * <pre class="code">
 * &#64;Test
 * void scriptsAreSafe() {
 *     ZdmScripts.check("classpath:db/zdm/users-email");
 * }
 * </pre> A migration's location holds an {@code expand} and a {@code contract} folder of
 * {@code V<version>__<description>.sql} scripts. Without a database every table the
 * scripts do not create is taken to exist and no column's current type is known, so a
 * type change of an existing column is always reported; give a
 * {@link #usingDatabase(DataSource) data source} to check against its catalog exactly as
 * start-up does.
 */
public final class ZdmScripts {

	private final String migration;

	private final List<String> expandLocations;

	private final List<String> contractLocations;

	private final Set<String> allowed;

	private final @Nullable DataSource dataSource;

	private final boolean requireAllowReason;

	/** The application's own Flyway scripts, not a zdm migration's. */
	private final boolean flyway;

	private ZdmScripts(String migration, List<String> expandLocations, List<String> contractLocations,
			Set<String> allowed, @Nullable DataSource dataSource, boolean requireAllowReason) {
		this(migration, expandLocations, contractLocations, allowed, dataSource, requireAllowReason, false);
	}

	private ZdmScripts(String migration, List<String> expandLocations, List<String> contractLocations,
			Set<String> allowed, @Nullable DataSource dataSource, boolean requireAllowReason, boolean flyway) {
		this.flyway = flyway;
		this.migration = migration;
		this.expandLocations = List.copyOf(expandLocations);
		this.contractLocations = List.copyOf(contractLocations);
		this.allowed = Set.copyOf(allowed);
		this.dataSource = dataSource;
		this.requireAllowReason = requireAllowReason;
	}

	/**
	 * Check the scripts of a migration, failing with every unsafe statement and its safe
	 * recipe.
	 * @param location the migration's location, holding its {@code expand} and
	 * {@code contract} folders, for example {@code classpath:db/zdm/users-email}
	 * @throws AssertionError if a script is unsafe or cannot be read
	 */
	public static void check(String location) {
		of(location).check();
	}

	/**
	 * Start a check of the scripts of a migration.
	 * @param location the migration's location, holding its {@code expand} and
	 * {@code contract} folders
	 * @return the check, to configure further
	 */
	public static ZdmScripts of(String location) {
		String base = location.endsWith("/") ? location.substring(0, location.length() - 1) : location;
		String name = base.substring(base.lastIndexOf('/') + 1);
		String migration = name.contains(":") ? name.substring(name.indexOf(':') + 1) : name;
		return new ZdmScripts(migration, List.of(base + "/expand"), List.of(base + "/contract"), Set.of(), null, false);
	}

	/**
	 * Start a check of scripts in explicit locations, as a migration's {@code expand} and
	 * {@code contract} properties name them.
	 * @param expandLocations the expand locations
	 * @param contractLocations the contract locations
	 * @return the check, to configure further
	 */
	public static ZdmScripts of(List<String> expandLocations, List<String> contractLocations) {
		return new ZdmScripts("scripts", expandLocations, contractLocations, Set.of(), null, false);
	}

	/**
	 * Start a check of the application's own Flyway scripts, which zdm does not check at
	 * start-up: they are checked as a migration's expand scripts are, since they too run
	 * at start-up while instances of the version before still serve.
	 * @param locations their locations, as {@code spring.flyway.locations} gives them;
	 * {@code classpath:db/migration}, Spring Boot's default, if none
	 * @return the check, to configure further
	 */
	public static ZdmScripts flyway(String... locations) {
		List<String> checked = (locations.length == 0) ? List.of("classpath:db/migration") : List.of(locations);
		return new ZdmScripts("flyway", checked, List.of(), Set.of(), null, false, true);
	}

	/**
	 * Allow unsafe operations in all the scripts, as
	 * {@code zdm.migrations.<id>.allow-unsafe} does.
	 * @param codes operation codes such as {@code create-index}
	 * @return a check that allows them
	 */
	public ZdmScripts allowing(String... codes) {
		Set<String> allowed = new LinkedHashSet<>(this.allowed);
		for (String code : codes) {
			if (UnsafeOperation.fromCode(code) == null) {
				throw new IllegalArgumentException(
						"'" + code + "' is not an unsafe operation code; valid codes: " + UnsafeOperation.allCodes());
			}
			allowed.add(code);
		}
		return new ZdmScripts(this.migration, this.expandLocations, this.contractLocations, allowed, this.dataSource,
				this.requireAllowReason, this.flyway);
	}

	/**
	 * Check against a database's catalog (existing tables, column types, functions,
	 * constraints), exactly as start-up does. Only reads the catalog.
	 * @param dataSource the database, with the application's schema before the migration
	 * @return a check that uses it
	 */
	public ZdmScripts usingDatabase(DataSource dataSource) {
		return new ZdmScripts(this.migration, this.expandLocations, this.contractLocations, this.allowed, dataSource,
				this.requireAllowReason, this.flyway);
	}

	/**
	 * Require a reason on every {@code -- zdm:allow <code>} comment
	 * ({@code -- zdm:allow <code>: <reason>}), as
	 * {@code zdm.ddl.require-allow-reason=true} makes start-up require: the check fails
	 * on a bare one, naming its script, line and code.
	 * @return a check that requires them
	 */
	public ZdmScripts requiringAllowReasons() {
		return new ZdmScripts(this.migration, this.expandLocations, this.contractLocations, this.allowed,
				this.dataSource, true, this.flyway);
	}

	/**
	 * Return the unsafe statements of the scripts that are not allowed.
	 * @return the findings, in script order, empty if the scripts are safe
	 * @throws AssertionError if a script cannot be read or parsed, or a
	 * {@code -- zdm:allow} comment gives no reason where {@link #requiringAllowReasons()}
	 * requires one
	 */
	public List<UnsafeStatement> findings() {
		try {
			return TestKitSupport.checkScripts(this.migration, this.expandLocations, this.contractLocations,
					this.allowed, this.dataSource, this.requireAllowReason);
		}
		catch (ZdmConfigurationException ex) {
			throw new AssertionError(ex.getMessage() + "\n" + ex.getAction(), ex);
		}
		catch (IllegalArgumentException ex) {
			throw new AssertionError(ex.getMessage(), ex);
		}
	}

	/**
	 * Check the scripts, failing with every unsafe statement and its safe recipe.
	 * @throws AssertionError if a script is unsafe or cannot be read
	 */
	public void check() {
		List<UnsafeStatement> findings = findings();
		if (!findings.isEmpty()) {
			throw new AssertionError(
					this.flyway ? describeFlyway(this.expandLocations, findings) : describe(this.migration, findings));
		}
	}

	/**
	 * Describe unsafe statements as start-up does: each statement with why it is unsafe,
	 * then each safe recipe.
	 * @param migration the migration, for the message
	 * @param findings the unsafe statements
	 * @return the description
	 */
	static String describe(String migration, List<UnsafeStatement> findings) {
		return describe("Migration '" + migration + "'", findings,
				"or the whole migration with zdm.migrations.<id>.allow-unsafe=<codes>.");
	}

	private static String describeFlyway(List<String> locations, List<UnsafeStatement> findings) {
		return describe("The Flyway scripts in " + locations, findings,
				"or in this check with ZdmScripts.flyway(...).allowing(<codes>).");
	}

	private static String describe(String subject, List<UnsafeStatement> findings, String allowWhole) {
		StringBuilder message = new StringBuilder();
		message.append(subject)
			.append(": ")
			.append(findings.size())
			.append((findings.size() == 1) ? " unsafe statement" : " unsafe statements")
			.append(" in its scripts:");
		List<String> recipes = new ArrayList<>();
		for (UnsafeStatement finding : findings) {
			message.append("\n  - ").append(finding.describe());
			String recipe = finding.operation().code() + ": " + finding.operation().recipe();
			if (!recipes.contains(recipe)) {
				recipes.add(recipe);
			}
		}
		message.append("\nUse the safe recipe:");
		recipes.forEach((recipe) -> message.append("\n  - ").append(recipe));
		message.append("\nIf the table is small or the application is stopped and you accept the lock, allow the "
				+ "statement with a comment '-- zdm:allow <code>: <reason>' in it (or on the line before it), "
				+ allowWhole);
		return message.toString();
	}

}
