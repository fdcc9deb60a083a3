package dev.zdm.internal.ddl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.springframework.util.ClassUtils;

import dev.zdm.ddl.SchemaChangeContributor;
import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.migration.MigrationDefinition;

/**
 * Runs the expand and contract statements of the {@link SchemaChangeContributor
 * contributors} through the {@link LockSafeExecutor}, each recorded in the DDL history
 * under {@code contributor:<class name>} like a script's statements.
 */
public class SchemaChangeContributions {

	private final List<SchemaChangeContributor> contributors;

	private final LockSafeExecutor executor;

	/**
	 * Create the contributions.
	 * @param contributors the contributors of further DDL, in order
	 * @param executor runs each statement
	 */
	public SchemaChangeContributions(List<SchemaChangeContributor> contributors, LockSafeExecutor executor) {
		this.contributors = List.copyOf(contributors);
		this.executor = executor;
	}

	/**
	 * Run every contributor's statements of a step, in order.
	 * @param session the session to run them on, holding the migration's DDL lock
	 * @param migration the migration
	 * @param step the step
	 * @param control how long each statement is retried
	 * @throws DdlExecutionException if a statement fails
	 */
	public void run(DdlSession session, MigrationDefinition migration, DdlStep step, RetryControl control) {
		for (SchemaChangeContributor contributor : this.contributors) {
			run(session, migration, step, control, statements(contributor, migration, step), source(contributor));
		}
	}

	/**
	 * Run the expand statements of the contributors that add to the schema (declared
	 * columns and indexes, the user's contributors), or of those whose statements depend
	 * on the columns the expand adds ({@link SchemaChangePreview}: the sync trigger),
	 * each group in order. The expand runs the first group, checks the new columns, then
	 * runs the second.
	 * @param session the session to run them on, holding the migration's DDL lock
	 * @param migration the migration
	 * @param control how long each statement is retried
	 * @param dependent whether to run the contributors that depend on the new columns
	 * rather than those that add to the schema
	 * @throws DdlExecutionException if a statement fails
	 */
	public void runExpand(DdlSession session, MigrationDefinition migration, RetryControl control, boolean dependent) {
		for (SchemaChangeContributor contributor : this.contributors) {
			if ((contributor instanceof SchemaChangePreview) == dependent) {
				run(session, migration, DdlStep.EXPAND, control, contributor.expandStatements(migration),
						source(contributor));
			}
		}
	}

	/**
	 * Run every contributor's statements that come after the contract scripts, in order.
	 * @param session the session to run them on, holding the migration's DDL lock
	 * @param migration the migration
	 * @param control how long each statement is retried
	 * @throws DdlExecutionException if a statement fails
	 */
	public void runAfterContract(DdlSession session, MigrationDefinition migration, RetryControl control) {
		for (SchemaChangeContributor contributor : this.contributors) {
			run(session, migration, DdlStep.CONTRACT, control, contributor.afterContractStatements(migration),
					afterContractSource(contributor));
		}
	}

	/**
	 * Run statements of zdm's own, recorded under a source of their own, each in order.
	 * @param session the session to run them on, holding the migration's DDL lock
	 * @param migration the migration
	 * @param step the step
	 * @param control how long each statement is retried
	 * @param statements the statements
	 * @param source what they are recorded under
	 */
	void run(DdlSession session, MigrationDefinition migration, DdlStep step, RetryControl control,
			List<String> statements, String source) {
		for (int i = 0; i < statements.size(); i++) {
			DdlStatement statement = DdlStatement.of(i + 1, statements.get(i));
			this.executor.execute(session, new StatementKey(migration.id(), step, source, i + 1), statement, control);
		}
	}

	/**
	 * Return whether every contributor's statement of a step was applied as it reads now.
	 * @param migration the migration
	 * @param step the step
	 * @param applied the checksums of the step's applied statements, by source and index
	 * @return {@code true} if none is new or changed
	 */
	public boolean areApplied(MigrationDefinition migration, DdlStep step, Map<String, Map<Integer, Integer>> applied) {
		for (SchemaChangeContributor contributor : this.contributors) {
			Map<Integer, Integer> done = applied.getOrDefault(source(contributor), Map.of());
			List<String> statements = statements(contributor, migration, step);
			for (int i = 0; i < statements.size(); i++) {
				if (!Objects.equals(done.get(i + 1), LockSafeExecutor.checksum(statements.get(i)))) {
					return false;
				}
			}
		}
		return true;
	}

	List<SchemaChangeContributor> contributors() {
		return this.contributors;
	}

	// The expand's contributors in the order they run: those that add to the schema,
	// then those that depend on the columns the expand adds.
	List<SchemaChangeContributor> expandOrder() {
		List<SchemaChangeContributor> ordered = new ArrayList<>(this.contributors.stream()
			.filter((contributor) -> !(contributor instanceof SchemaChangePreview))
			.toList());
		this.contributors.stream().filter(SchemaChangePreview.class::isInstance).forEach(ordered::add);
		return ordered;
	}

	static List<String> statements(SchemaChangeContributor contributor, MigrationDefinition migration, DdlStep step) {
		return (step == DdlStep.EXPAND) ? contributor.expandStatements(migration)
				: contributor.contractStatements(migration);
	}

	static String source(SchemaChangeContributor contributor) {
		return "contributor:" + ClassUtils.getUserClass(contributor).getSimpleName();
	}

	static String afterContractSource(SchemaChangeContributor contributor) {
		return source(contributor) + ":after-scripts";
	}

}
