package dev.zdm.autoconfigure;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.zdm.autoconfigure.ZdmProperties;
import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.internal.catalog.NearestName;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.SyncMode;
import dev.zdm.migration.TableName;
import dev.zdm.migration.TimeWindow;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Turns {@code zdm.migrations.*} properties into {@link MigrationDefinition definitions},
 * refusing what can be refused without the database: unknown phases, missing tables,
 * invalid identifiers and ids.
 */
final class MigrationDefinitions {

	// a prefix of two characters or more, so that a Windows drive (C:) is not one
	/** What to do about a migration id that is not a valid one. */
	static final String INVALID_ID_ACTION = "Name the migration with letters, digits, '-' and '_' only, at most 63 "
			+ "characters, for example zdm.migrations.users-email.";

	private static final Pattern LOCATION_PREFIX = Pattern.compile("^\\s*([A-Za-z][A-Za-z0-9+.-]+):(.*)$");

	private MigrationDefinitions() {
	}

	static List<MigrationDefinition> from(ZdmProperties properties) {
		checkMisspeltIds(properties);
		List<MigrationDefinition> definitions = new ArrayList<>();
		properties.getMigrations().forEach((id, migration) -> definitions.add(from(id, migration)));
		return definitions;
	}

	/**
	 * Return the definitions of the migrations on one data source.
	 * @param properties the properties
	 * @param dataSource the name of the data source's bean
	 * @param zdmDataSource whether it is the one zdm runs on, which also takes the
	 * migrations that name no data source
	 * @return the definitions
	 */
	static List<MigrationDefinition> from(ZdmProperties properties, String dataSource, boolean zdmDataSource) {
		checkMisspeltIds(properties);
		List<MigrationDefinition> definitions = new ArrayList<>();
		properties.getMigrations().forEach((id, migration) -> {
			String named = migration.getDataSource();
			if ((named == null) ? zdmDataSource : named.equals(dataSource)) {
				definitions.add(from(id, migration));
			}
		});
		return definitions;
	}

	/**
	 * Refuses two migrations whose ids differ only in a dash against an underscore, or in
	 * case (zdm's objects are named after the id, dashes as underscores, so they would
	 * share them), whose ids differ only in dashes or case (Spring Boot binds each one's
	 * settings to both: an environment variable cannot hold the dash of an id), and a
	 * migration that declares no table when another declared migration has nearly its id:
	 * {@code --zdm.migrations.users-emial.phase=read-new} on a command line is a misspelt
	 * id, not a migration of its own that lacks its table.
	 * @param properties the properties
	 */
	private static void checkMisspeltIds(ZdmProperties properties) {
		Map<String, ZdmMigrationProperties> migrations = properties.getMigrations();
		Map<String, String> namedAlike = new LinkedHashMap<>();
		migrations.keySet().forEach((id) -> {
			String same = namedAlike.putIfAbsent(id.replace("-", "_").toLowerCase(Locale.ROOT), id);
			if (same != null && !same.replace("-", "").equalsIgnoreCase(id.replace("-", ""))) {
				throw new ZdmConfigurationException(id, "migrations '" + same + "' and '" + id
						+ "' differ only in a dash against an underscore, or in case: zdm names the objects it "
						+ "creates for a migration (its sync trigger and function, its contract guard) after its "
						+ "id, with dashes as underscores, in lower case, so the two would share them and one "
						+ "migration's trigger would replace the other's",
						"Give one of them an id that differs from the other in a letter or a digit.");
			}
		});
		Map<String, String> uniformIds = new LinkedHashMap<>();
		migrations.keySet().forEach((id) -> {
			String same = uniformIds.putIfAbsent(id.replace("-", "").toLowerCase(Locale.ROOT), id);
			if (same != null) {
				String dashed = same.contains("-") ? same : id;
				String other = dashed.equals(same) ? id : same;
				throw new ZdmConfigurationException(dashed, "migrations '" + dashed + "' and '" + other
						+ "' are one to Spring Boot's relaxed binding, which ignores dashes and case, so each takes the "
						+ "other's settings; an environment variable such as ZDM_MIGRATIONS_"
						+ other.toUpperCase(Locale.ROOT) + "_PHASE declares a migration of its own, "
						+ "without the dash",
						"Set the phase of '" + dashed + "' as zdm.migrations." + dashed
								+ ".phase (a command-line argument, SPRING_APPLICATION_JSON or a configuration file, "
								+ "see docs/configuration.md), or give the migration an id of lower-case letters and "
								+ "digits only, which an environment variable can name.");
			}
		});
		migrations.forEach((id, migration) -> {
			if (migration.getTable() == null || migration.getTable().isBlank()) {
				List<String> others = migrations.keySet().stream().filter((other) -> !other.equals(id)).toList();
				String hint = NearestName.of(others, id);
				if (hint != null) {
					throw new ZdmConfigurationException(id,
							"no table is declared, and migration '" + hint + "' is declared: is '" + id
									+ "' a misspelling of '" + hint + "'?",
							"Correct the id in the zdm.migrations." + id + ".* properties (for example zdm.migrations."
									+ hint + ".phase), or set zdm.migrations." + id
									+ ".table if it is a migration of its own.");
				}
			}
		});
	}

	/**
	 * Check script locations: Flyway, which runs the scripts, reads {@code classpath:}
	 * and {@code filesystem:} only, and fails on any other prefix at each attempt.
	 */
	private static List<String> locations(String id, String property, List<String> locations) {
		for (String location : locations) {
			Matcher scheme = LOCATION_PREFIX.matcher(location);
			if (scheme.matches() && !scheme.group(1).equals("classpath") && !scheme.group(1).equals("filesystem")) {
				String path = scheme.group(2);
				throw new ZdmConfigurationException(id,
						property + " is '" + location + "', whose prefix '" + scheme.group(1)
								+ ":' the scripts cannot be read with (Flyway, which runs them, reads classpath: and "
								+ "filesystem: only)",
						"Set " + property + " to "
								+ ("file".equals(scheme.group(1)) ? "filesystem:" + path + " for that directory"
										: "a classpath: or filesystem: location")
								+ ", for example classpath:db/zdm/" + id + "/"
								+ property.substring(property.lastIndexOf('.') + 1) + ".");
			}
		}
		return locations;
	}

	static MigrationDefinition from(String id, ZdmMigrationProperties migration) {
		if (!MigrationDefinition.isValidId(id)) {
			// said once, and a long one shortened: the description is read on a console
			String shown = (id.length() > 63) ? id.substring(0, 40) + "... (" + id.length() + " characters)" : id;
			throw new ZdmConfigurationException(null, "'" + shown + "' is not a valid migration id", INVALID_ID_ACTION);
		}
		String prefix = "zdm.migrations." + id + ".";
		Phase phase = Phase.fromValue(migration.getPhase());
		if (phase == null) {
			throw new ZdmConfigurationException(id, "unknown phase '" + migration.getPhase() + "'",
					"Set " + prefix + "phase to one of: " + Phase.allValues() + ".");
		}
		if (migration.getTable() == null || migration.getTable().isBlank()) {
			throw new ZdmConfigurationException(id, "no table is declared",
					"Set " + prefix + "table to the table the migration changes.");
		}
		SyncMode sync = SyncMode.fromValue(migration.getSync());
		if (migration.getSync() != null && sync == null) {
			throw new ZdmConfigurationException(id, "unknown sync mode '" + migration.getSync() + "'",
					"Set " + prefix + "sync to trigger (a migration inside one table, synced by a trigger), "
							+ "application (inside one table, the application writing both sides in one statement) "
							+ "or repositories (data moving into another table).");
		}
		MigrationDefinition.Builder builder = MigrationDefinition.builder(id)
			.requestedPhase(phase)
			.table(table(id, prefix, migration.getTable()))
			.key(migration.getKey().stream().map((column) -> identifier(id, prefix + "key", column)).toList())
			.expandLocations(locations(id, prefix + "expand", migration.getExpand()))
			.contractLocations(locations(id, prefix + "contract", migration.getContract()))
			.allowUnsafe(allowUnsafe(id, prefix, migration.getAllowUnsafe()))
			.sync(sync)
			.backfill(backfill(id, prefix + "backfill.", migration.getBackfill()));
		if (migration.getTargetTable() != null) {
			builder.targetTable(table(id, prefix + "target-", migration.getTargetTable()));
			if (sync == SyncMode.TRIGGER || sync == SyncMode.APPLICATION) {
				throw new ZdmConfigurationException(id,
						"sync: " + sync + " is not supported for a migration into another table (" + prefix
								+ "target-table is set)",
						"Remove " + prefix + "sync (a cross-table migration is kept in sync by the routed repository "
								+ "calling both implementations), or move the data inside one table.");
			}
			if (migration.getUp().isEmpty()) {
				throw new ZdmConfigurationException(id,
						"no up expressions are declared for the target table " + migration.getTargetTable(),
						"Declare under " + prefix + "up each column of the target table with the SQL expression over "
								+ "the source row that derives it, so that zdm can copy and verify existing rows.");
			}
		}
		else if (sync == SyncMode.APPLICATION && (migration.getUp().isEmpty() || migration.getDown().isEmpty())) {
			String missing = migration.getUp().isEmpty() ? "up" : "down";
			throw new ZdmConfigurationException(id,
					"sync: application needs up and down expressions, and no " + missing + " is declared: the "
							+ "backfill copies existing rows with up, its verification and the final check before the "
							+ "contract compare the sides both ways, and down names the old columns",
					"Declare " + prefix + missing + " (each " + (missing.equals("up") ? "new" : "old")
							+ " column with the SQL expression over the row that derives it).");
		}
		else if (!migration.getTargetKey().isEmpty()) {
			throw new ZdmConfigurationException(id, prefix + "target-key is set but no target table is", "Set " + prefix
					+ "target-table to the table the data moves into, or remove " + prefix + "target-key.");
		}
		builder.targetKey(migration.getTargetKey()
			.stream()
			.map((column) -> identifier(id, prefix + "target-key", column))
			.toList());
		for (Map.Entry<String, String> up : migration.getUp().entrySet()) {
			builder.up(identifier(id, prefix + "up", up.getKey()).name(), up.getValue());
		}
		for (Map.Entry<String, String> down : migration.getDown().entrySet()) {
			builder.down(identifier(id, prefix + "down", down.getKey()).name(), down.getValue());
		}
		declared(id, prefix, migration, builder);
		return builder.build();
	}

	// Only the names and the shape are checked here; the catalog checks come before
	// anything runs (DeclaredOperations).
	private static void declared(String id, String prefix, ZdmMigrationProperties migration,
			MigrationDefinition.Builder builder) {
		migration.getColumns().forEach((name, column) -> {
			String property = prefix + "columns." + name;
			identifier(id, prefix + "columns", name);
			if (column.getType() == null || column.getType().isBlank()) {
				throw new ZdmConfigurationException(id, "no type is declared for column '" + name + "'",
						"Set " + property + ".type to the column's SQL type, for example text or numeric(10,2).");
			}
			builder.column(name, column.getType(), column.getDefault());
		});
		migration.getIndexes()
			.forEach((name, columns) -> builder.index(identifier(id, prefix + "indexes", name).name(),
					columns(id, prefix + "indexes." + name, columns)));
		ZdmMigrationProperties.Constraints constraints = migration.getConstraints();
		builder.notNull(columns(id, prefix + "constraints.not-null", constraints.getNotNull()));
		constraints.getChecks().forEach((name, expression) -> {
			identifier(id, prefix + "constraints.checks", name);
			if (expression == null || expression.isBlank()) {
				throw new ZdmConfigurationException(id, "check constraint '" + name + "' has no expression",
						"Set " + prefix + "constraints.checks." + name + " to a boolean SQL expression over the "
								+ "table's columns, for example total >= 0.");
			}
			builder.check(name, expression);
		});
		constraints.getForeignKeys().forEach((name, foreignKey) -> {
			String property = prefix + "constraints.foreign-keys." + name;
			identifier(id, prefix + "constraints.foreign-keys", name);
			if (foreignKey.getReferences() == null || foreignKey.getReferences().isBlank()) {
				throw new ZdmConfigurationException(id, "foreign key '" + name + "' references no table",
						"Set " + property + ".references to the referenced table.");
			}
			try {
				TableName.parse(foreignKey.getReferences());
			}
			catch (IllegalArgumentException ex) {
				throw invalidIdentifier(id, property + ".references", foreignKey.getReferences());
			}
			builder.foreignKey(name, List.of(columns(id, property + ".columns", foreignKey.getColumns())),
					foreignKey.getReferences(),
					List.of(optionalColumns(id, property + ".referenced-columns", foreignKey.getReferencedColumns())));
		});
		constraints.getUnique()
			.forEach((name, columns) -> builder.unique(identifier(id, prefix + "constraints.unique", name).name(),
					columns(id, prefix + "constraints.unique." + name, columns)));
	}

	private static String[] columns(String id, String property, List<String> columns) {
		if (columns.isEmpty() && !property.endsWith("not-null")) {
			throw new ZdmConfigurationException(id, property + " names no column",
					"List the columns under " + property + ", for example " + property + "=customer_id.");
		}
		return optionalColumns(id, property, columns);
	}

	private static String[] optionalColumns(String id, String property, List<String> columns) {
		return columns.stream().map((column) -> identifier(id, property, column).name()).toArray(String[]::new);
	}

	private static List<String> allowUnsafe(String id, String prefix, List<String> codes) {
		for (String code : codes) {
			if (UnsafeOperation.fromCode(code) == null) {
				throw new ZdmConfigurationException(id,
						"unknown unsafe operation '" + code + "' in " + prefix + "allow-unsafe",
						"Use the codes of the unsafe operations to allow: " + UnsafeOperation.allCodes() + ".");
			}
		}
		return codes;

	}

	private static BackfillSettings backfill(String id, String prefix, ZdmBackfillProperties backfill) {
		ZdmSettings.checkBackfill(id, prefix, backfill);
		try {
			return BackfillSettings.builder()
				.enabled(backfill.isEnabled())
				.batchSizes(backfill.getInitialBatchSize(), backfill.getMinBatchSize(), backfill.getMaxBatchSize())
				.targetBatchDuration(backfill.getTargetBatchDuration())
				.pause(backfill.getPause())
				.lockTimeout(backfill.getLockTimeout())
				.statementTimeout(backfill.getStatementTimeout())
				.maxLockWaiters(backfill.getMaxLockWaiters())
				.maxTransactionAge(backfill.getMaxTransactionAge())
				.throttleCheckInterval(backfill.getThrottleCheckInterval())
				.timeWindows(backfill.getTimeWindows().stream().map(TimeWindow::parse).toList())
				.timeZone(ZoneId.of(backfill.getTimeZone()))
				.vacuumEveryRows(backfill.getVacuumEveryRows())
				.verificationPasses(backfill.getVerificationPasses())
				.verificationBatchSize(backfill.getVerificationBatchSize())
				.verificationPause(backfill.getVerificationPause())
				.maxReplicationLag(backfill.getMaxReplicationLag())
				.maxLatencyIncrease(ZdmSettings.latencyIncrease(id, prefix + "max-latency-increase",
						backfill.getMaxLatencyIncrease()))
				.maxRowsPerSecond(backfill.getMaxRowsPerSecond())
				.maxBatchAttempts(backfill.getMaxBatchAttempts())
				.failureBudget(backfill.getFailureWindow(), backfill.getMaxFailureShare())
				.maxWalArchiveBacklog(backfill.getMaxWalArchiveBacklog())
				.maxWalRate(backfill.getMaxWalRate().toBytes())
				.build();
		}
		catch (IllegalArgumentException | DateTimeException ex) {
			throw new ZdmConfigurationException(id, "invalid backfill settings: " + ex.getMessage(),
					"Check the " + prefix + "* properties: batch sizes with 1 <= min <= max, time windows such as "
							+ "22:00-06:00 and a time zone such as UTC or Europe/Paris.");
		}
	}

	private static TableName table(String id, String prefix, String table) {
		try {
			return TableName.parse(table);
		}
		catch (IllegalArgumentException ex) {
			throw invalidIdentifier(id, prefix + "table", table);
		}
	}

	private static SqlIdentifier identifier(String id, String property, String name) {
		if (!SqlIdentifier.isValid(name)) {
			throw invalidIdentifier(id, property, name);
		}
		return new SqlIdentifier(name);
	}

	private static ZdmConfigurationException invalidIdentifier(String id, String property, String value) {
		return new ZdmConfigurationException(id, "'" + value + "' in " + property + " is not a valid SQL identifier",
				"Use the name as the catalog stores it: a letter or '_', then letters, digits, '_' or '$', "
						+ "at most 63 characters (a table may be qualified as schema.table).");
	}

}
