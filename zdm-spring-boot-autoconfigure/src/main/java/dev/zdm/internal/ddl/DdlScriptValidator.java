package dev.zdm.internal.ddl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.core.Ordered;

import dev.zdm.ddl.UnsafeStatement;
import dev.zdm.internal.catalog.MigrationValidator;
import dev.zdm.internal.ddl.script.AllowReasons;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.internal.ddl.script.UnsafeStatementChecker;
import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Checks each migration's expand and contract scripts at start-up, before anything is
 * written: that the locations hold scripts, that the scripts that have not run hold no
 * unsafe operation, that the declaration fits the catalog with what the expand adds (the
 * scripts' columns and the declared ones), and that no two migrations create the same
 * object.
 */
public class DdlScriptValidator implements MigrationParticipant, Ordered {

	/**
	 * The order of the validator among the participants: first, so that no other
	 * participant looks at a migration whose scripts cannot run.
	 */
	public static final int ORDER = 0;

	private static final Log logger = LogFactory.getLog(DdlScriptValidator.class);

	private final FlywayStep scripts;

	private final UnsafeStatementChecker checker;

	private final MigrationValidator validator;

	private boolean requireAllowReason;

	/**
	 * Create a validator.
	 * @param scripts where the scripts, and which of their statements have run, are read
	 * from
	 * @param checker finds the unsafe operations in the scripts
	 * @param validator checks the declaration against the catalog
	 */
	public DdlScriptValidator(FlywayStep scripts, UnsafeStatementChecker checker, MigrationValidator validator) {
		this.scripts = scripts;
		this.checker = checker;
		this.validator = validator;
	}

	/**
	 * Set whether a {@code -- zdm:allow <code>} comment in a script that has not run must
	 * give a reason ({@code -- zdm:allow <code>: <reason>}).
	 * @param requireAllowReason whether to refuse a bare one at start-up
	 */
	public void setRequireAllowReason(boolean requireAllowReason) {
		this.requireAllowReason = requireAllowReason;
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Load the migration's scripts and check those that have not run for unsafe
	 * operations. Only reads.
	 */
	@Override
	public void validate(MigrationDefinition migration, MigrationState state) {
		if (!state.isContracted()) {
			for (String location : migration.expandLocations()) {
				if (this.scripts.load(migration, DdlStep.EXPAND, List.of(location)).isEmpty()) {
					throw emptyLocation(migration, DdlStep.EXPAND, location);
				}
			}
		}
		for (String location : migration.contractLocations()) {
			if (!this.scripts.load(migration, DdlStep.CONTRACT, List.of(location)).isEmpty()) {
				continue;
			}
			if (migration.requestedPhase() == Phase.CONTRACT && !state.isContracted()) {
				throw emptyLocation(migration, DdlStep.CONTRACT, location);
			}
			logger.warn("zdm: migration '" + migration.id() + "': the contract location '" + location
					+ "' does not exist or holds no scripts; an instance that requests phase contract is refused "
					+ "at start-up until it does");
		}
		List<DdlScript> expand = state.isContracted() ? List.of() : this.scripts.pending(migration, DdlStep.EXPAND);
		List<DdlScript> contract = this.scripts.pending(migration, DdlStep.CONTRACT);
		List<UnsafeStatement> findings = this.checker.check(expand, contract, migration.allowedUnsafe());
		if (!findings.isEmpty()) {
			throw unsafe(migration, findings);
		}
		if (this.requireAllowReason) {
			List<DdlScript> pending = new ArrayList<>(expand);
			pending.addAll(contract);
			AllowReasons.require(migration.id(), pending);
		}
		if (!state.isContracted()) {
			List<DdlScript> scripts = this.scripts.load(migration, DdlStep.EXPAND);
			ScriptObjects objects = ScriptObjects.of(scripts);
			Map<String, @Nullable String> added = new LinkedHashMap<>();
			TableName newTable = (migration.targetTable() != null) ? migration.targetTable() : migration.table();
			objects.addedColumns(newTable.table().name())
				.forEach((column) -> added.putIfAbsent(column.column(), column.type()));
			if (migration.targetTable() == null) {
				// the declared columns (zdm.migrations.<id>.columns) are added to the
				// migration's table by the expand too, after the scripts
				migration.declared()
					.columns()
					.forEach((column) -> added.putIfAbsent(column.name().name(), column.type()));
			}
			this.validator.validateWithExpand(migration, added, scripts.stream().map(DdlScript::name).toList(),
					objects.hasDynamicStatements());
			refuseOldColumnsKept(migration, this.scripts.load(migration, DdlStep.CONTRACT));
		}
	}

	/**
	 * Refuse contract scripts that keep an old column of a same-table migration, one its
	 * {@code down} keeps in sync: once the contract has run nothing keeps it in sync, and
	 * while it runs zdm refuses writes of the old columns and takes their
	 * {@code NOT NULL} and default away, as from columns about to be dropped (a fault
	 * run's column kept its place but lost its default, and new rows got NULL in it).
	 */
	private static void refuseOldColumnsKept(MigrationDefinition migration, List<DdlScript> contract) {
		if (migration.targetTable() != null || migration.down().isEmpty() || contract.isEmpty()) {
			return;
		}
		ScriptObjects objects = ScriptObjects.of(contract);
		if (objects.hasDynamicStatements()) {
			return;
		}
		String table = migration.table().table().name();
		List<String> kept = migration.down()
			.keySet()
			.stream()
			.map(SqlIdentifier::name)
			.filter((column) -> !objects.dropsColumn(table, column))
			.toList();
		if (kept.isEmpty()) {
			return;
		}
		String id = migration.id();
		throw new ZdmConfigurationException(id,
				"the contract scripts (" + contract.stream().map(DdlScript::name).toList() + ") do not drop "
						+ ((kept.size() == 1) ? "old column " : "old columns ") + String.join(", ", kept) + " of "
						+ migration.table() + ", which zdm.migrations." + id + ".down keeps in sync with the new "
						+ "columns: once the contract has run nothing would, and while it runs zdm refuses writes of "
						+ "the old columns and takes their NOT NULL and default away, as from columns about to be "
						+ "dropped; nothing has run",
				"Drop them in a contract script, for example "
						+ kept.stream()
							.map((column) -> "ALTER TABLE " + migration.table() + " DROP COLUMN "
									+ new SqlIdentifier(column).quoted())
							.collect(Collectors.joining("; "))
						+ ". A column that must stay is not an old column of this migration: remove it from "
						+ "zdm.migrations." + id + ".down, and nothing writes it from the new columns.");
	}

	/**
	 * Refuse two migrations whose scripts create the same object or add the same column.
	 * Only reads.
	 */
	@Override
	public void validateAll(List<MigrationDefinition> migrations) {
		Map<String, String> owners = new LinkedHashMap<>();
		Map<String, MigrationDefinition> ownerMigrations = new LinkedHashMap<>();
		for (MigrationDefinition migration : migrations) {
			List<DdlScript> scripts = new ArrayList<>(this.scripts.load(migration, DdlStep.EXPAND));
			scripts.addAll(this.scripts.load(migration, DdlStep.CONTRACT));
			ScriptObjects objects = ScriptObjects.of(scripts);
			Map<String, String> own = new LinkedHashMap<>();
			objects.created()
				.forEach((object) -> own.putIfAbsent(object.kind() + " " + object.name(), object.script()));
			objects.addedColumns()
				.forEach((column) -> own.putIfAbsent("column " + column.table() + "." + column.column(),
						column.script()));
			for (Map.Entry<String, String> object : own.entrySet()) {
				String owner = "migration '" + migration.id() + "' (script " + object.getValue() + ")";
				String other = owners.putIfAbsent(object.getKey(), owner);
				MigrationDefinition otherMigration = ownerMigrations.putIfAbsent(object.getKey(), migration);
				if (other != null && otherMigration != null) {
					throw new ZdmConfigurationException(
							migration.id(), "the scripts of two migrations create the same " + object.getKey() + ": "
									+ other + " and " + owner + "; nothing has run",
							clashAction(otherMigration, migration));
				}
			}
		}
	}

	// An abandoned migration stays declared until its abandon has dropped what its expand
	// created; a new one that creates the same object waits until then. (What a
	// contracted migration's expand created stays: the generic advice holds for it.)
	private static String clashAction(MigrationDefinition first, MigrationDefinition second) {
		for (MigrationDefinition abandoned : List.of(first, second)) {
			MigrationDefinition other = (abandoned == first) ? second : first;
			if (abandoned.requestedPhase() == Phase.ABANDON) {
				return "Migration '" + abandoned.id() + "' is at abandon: once its abandon is done (abandon.state "
						+ "'done' in /actuator/zdm/" + abandoned.id() + "), remove its declaration (zdm.migrations."
						+ abandoned.id() + ".*) and declare migration '" + other.id() + "' then; until then the two "
						+ "would create the same object. Or give the object of '" + other.id() + "' another name.";
			}
		}
		return "Create each object in one migration only: remove it from the scripts of one of them, or give it "
				+ "another name.";
	}

	private static ZdmConfigurationException emptyLocation(MigrationDefinition migration, DdlStep step,
			String location) {
		String property = "zdm.migrations." + migration.id() + "." + step.value();
		return new ZdmConfigurationException(migration.id(),
				"the " + step + " location '" + location + "' (" + property + ") does not exist or holds no "
						+ "V<version>__<description>.sql scripts; nothing has run",
				"Put the migration's " + step + " scripts there, for example " + location + "/V1__" + step.value()
						+ ".sql, or correct " + property
						+ ((step == DdlStep.EXPAND) ? ", or remove it if the migration needs no expand DDL."
								: ". The contract runs only once a contract location holds the scripts that drop the "
										+ "old schema."));
	}

	private static ZdmConfigurationException unsafe(MigrationDefinition migration, List<UnsafeStatement> findings) {
		StringBuilder description = new StringBuilder();
		description.append(findings.size())
			.append((findings.size() == 1) ? " unsafe statement" : " unsafe statements")
			.append(" in its scripts; nothing has run:");
		StringBuilder action = new StringBuilder();
		for (UnsafeStatement finding : findings) {
			description.append("\n  - ").append(finding.describe());
			String recipe = finding.operation().code() + ": " + finding.operation().recipe();
			if (action.indexOf(recipe) < 0) {
				action.append("\n  - ").append(recipe);
			}
		}
		String codes = String.join(",",
				findings.stream().map((finding) -> finding.operation().code()).distinct().toList());
		return new ZdmConfigurationException(migration.id(), description.toString(),
				"Use the safe recipe:" + action
						+ "\nIf the table is small or the application is stopped and you accept "
						+ "the lock, allow the statement with a comment '-- zdm:allow <code>: <reason>' in it (or on "
						+ "the line before it), or the whole migration with zdm.migrations." + migration.id()
						+ ".allow-unsafe=" + codes + ".");
	}

}
