package dev.zdm.internal.ddl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.flywaydb.core.api.MigrationVersion;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.ddl.script.DdlScript;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.ddl.script.ScriptObjects;
import dev.zdm.internal.ddl.script.ScriptObjects.AddedColumn;
import dev.zdm.migration.MigrationDefinition;

/**
 * Gathers, for {@link MigrationPlanner}, the statements each DDL step of a migration runs
 * and whether each has run: the scripts and the contributors' statements in the order
 * they run, or, once the migration is contracted, what the history recorded.
 */
final class PlanSources {

	static final String TO_RUN = "to run";

	static final String APPLIED = "applied";

	private final FlywayStep scripts;

	private final SchemaChangeContributions contributions;

	private final DdlHistoryRepository history;

	private final ContractRelax relax;

	PlanSources(FlywayStep scripts, SchemaChangeContributions contributions, DdlHistoryRepository history,
			ContractRelax relax) {
		this.scripts = scripts;
		this.contributions = contributions;
		this.history = history;
		this.relax = relax;
	}

	// The expand: the scripts, then each contributor's statements in the order they run
	// (the sync trigger last), told what the statements before it add.
	List<Source> expand(MigrationDefinition migration, DdlStatus recorded) {
		List<Source> sources = new ArrayList<>();
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), DdlStep.EXPAND);
		List<DdlScript> scripts = this.scripts.load(migration, DdlStep.EXPAND);
		for (DdlScript script : scripts) {
			sources.add(Source.of(script, applied));
		}
		List<AddedColumn> added = new ArrayList<>(ScriptObjects.of(scripts).addedColumns());
		for (SchemaChangeContributor contributor : this.contributions.expandOrder()) {
			List<String> statements = (contributor instanceof SchemaChangePreview preview)
					? preview.expandStatementsAfter(migration, List.copyOf(added))
					: contributor.expandStatements(migration);
			Source source = contributed(SchemaChangeContributions.source(contributor), DdlStep.EXPAND, statements,
					recorded);
			sources.add(source);
			added.addAll(ScriptObjects.of(List.of(source.script())).addedColumns());
		}
		return sources;
	}

	// The contract: the relax of the old columns' NOT NULL before the claim, a
	// cross-table migration's guard, each contributor's statements, then the scripts,
	// then each contributor's statements after them, then the guard's drop.
	List<Source> contract(MigrationDefinition migration, DdlStatus recorded) {
		List<Source> sources = new ArrayList<>();
		List<DdlScript> scripts = this.scripts.load(migration, DdlStep.CONTRACT);
		sources.add(contributed(ContractRelax.SOURCE, DdlStep.CONTRACT, this.relax.statements(migration, scripts),
				recorded));
		// a cross-table migration's guard of its old columns first, as the contract runs
		// it
		sources.add(contributed(CrossTableContractGuard.SOURCE, DdlStep.CONTRACT,
				CrossTableContractGuard.install(migration, scripts), recorded));
		for (SchemaChangeContributor contributor : this.contributions.contributors()) {
			sources.add(contributed(SchemaChangeContributions.source(contributor), DdlStep.CONTRACT,
					SchemaChangeContributions.statements(contributor, migration, DdlStep.CONTRACT), recorded));
		}
		Map<String, Map<Integer, Integer>> applied = this.history.appliedStatements(migration.id(), DdlStep.CONTRACT);
		for (DdlScript script : scripts) {
			sources.add(Source.of(script, applied));
		}
		for (SchemaChangeContributor contributor : this.contributions.contributors()) {
			sources.add(contributed(SchemaChangeContributions.afterContractSource(contributor), DdlStep.CONTRACT,
					contributor.afterContractStatements(migration), recorded));
		}
		sources.add(contributed(CrossTableContractGuard.AFTER_SOURCE, DdlStep.CONTRACT,
				CrossTableContractGuard.remove(migration, scripts), recorded));
		return sources;
	}

	// A contributor returns only what is left to do, so what it already applied comes
	// from the history.
	private static Source contributed(String name, DdlStep step, List<String> statements, DdlStatus recorded) {
		List<DdlStatement> parsed = new ArrayList<>();
		List<String> statuses = new ArrayList<>();
		List<DdlStatus.Statement> applied = recorded.statements()
			.stream()
			.filter((statement) -> statement.step() == step && statement.source().equals(name)
					&& APPLIED.equals(statement.state()))
			.toList();
		for (int i = 0; i < statements.size(); i++) {
			String sql = statements.get(i);
			int index = i + 1;
			parsed.add(DdlStatement.of(index, sql));
			boolean done = applied.stream()
				.anyMatch((statement) -> statement.index() == index && statement.sql().equals(sql));
			statuses.add(done ? APPLIED : TO_RUN);
		}
		if (statements.isEmpty()) {
			for (DdlStatus.Statement statement : applied) {
				parsed.add(DdlStatement.of(statement.index(), statement.sql()));
				statuses.add(APPLIED);
			}
		}
		return new Source(script(step, name, parsed), statuses);
	}

	static List<Source> recorded(DdlStatus recorded, DdlStep step) {
		Map<String, List<DdlStatement>> bySource = new LinkedHashMap<>();
		recorded.statements()
			.stream()
			.filter((statement) -> statement.step() == step)
			.forEach((statement) -> bySource.computeIfAbsent(statement.source(), (key) -> new ArrayList<>())
				.add(DdlStatement.of(statement.index(), statement.sql())));
		return bySource.entrySet()
			.stream()
			.map((entry) -> new Source(script(step, entry.getKey(), entry.getValue()),
					entry.getValue().stream().map((statement) -> APPLIED).toList()))
			.toList();
	}

	private static DdlScript script(DdlStep step, String name, List<DdlStatement> statements) {
		return new DdlScript(step, MigrationVersion.fromVersion("1"), name, name, name, 0, statements);
	}

	/**
	 * A script, or a contributor's statements as one, with the status of each statement.
	 */
	record Source(DdlScript script, List<String> statuses) {

		static Source of(DdlScript script, Map<String, Map<Integer, Integer>> applied) {
			Map<Integer, Integer> done = applied.getOrDefault(script.name(), Map.of());
			return new Source(script,
					script.statements()
						.stream()
						.map((statement) -> Objects.equals(done.get(statement.index()),
								LockSafeExecutor.checksum(statement.sql())) ? APPLIED : TO_RUN)
						.toList());
		}

		String status(DdlStatement statement) {
			return this.statuses.get(this.script.statements().indexOf(statement));
		}

	}

}
