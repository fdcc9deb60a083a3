package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.ddl.UnsafeStatement;

/**
 * Checks a migration's scripts, before they run, for operations that block a table's
 * readers or writers, rewrite the table, or break instances running the previous version
 * (see {@link UnsafeOperation}). Tables the scripts create themselves are new and may be
 * changed freely. The checks only read the catalog.
 */
public class UnsafeStatementChecker {

	private final DdlCatalog catalog;

	/**
	 * Create a checker.
	 * @param catalog the catalog to check existing tables against
	 */
	public UnsafeStatementChecker(DdlCatalog catalog) {
		this.catalog = catalog;
	}

	/**
	 * Check a migration's pending scripts.
	 * @param expandScripts the expand scripts that have not run yet, in order
	 * @param contractScripts the contract scripts that have not run yet, in order
	 * @param allowed codes of the operations the migration allows in all its scripts
	 * @return the unsafe statements that are not allowed, in order
	 */
	public List<UnsafeStatement> check(List<DdlScript> expandScripts, List<DdlScript> contractScripts,
			Set<String> allowed) {
		return check(expandScripts, contractScripts, allowed, false);
	}

	/**
	 * Check a migration's statements, those allowed included, as the plan shows them.
	 * @param expandStatements the expand step's statements in the order they run (each
	 * script, or contributor, as a script)
	 * @param contractStatements the contract step's statements in the order they run
	 * @return every unsafe statement, allowed or not, in order; the caller tells which
	 * are allowed
	 */
	public List<UnsafeStatement> checkAll(List<DdlScript> expandStatements, List<DdlScript> contractStatements) {
		return check(expandStatements, contractStatements, Set.of(), true);
	}

	private List<UnsafeStatement> check(List<DdlScript> expandScripts, List<DdlScript> contractScripts,
			Set<String> allowed, boolean includeAllowed) {
		List<UnsafeStatement> findings = new ArrayList<>();
		CheckScope expand = new CheckScope(DdlStep.EXPAND, Set.of());
		for (DdlScript script : expandScripts) {
			script.statements()
				.forEach((statement) -> check(expand, script.name(), statement, allowed, includeAllowed, findings));
		}
		CheckScope contract = new CheckScope(DdlStep.CONTRACT, expand.newTables);
		for (DdlScript script : contractScripts) {
			script.statements()
				.forEach((statement) -> check(contract, script.name(), statement, allowed, includeAllowed, findings));
		}
		return findings;
	}

	private void check(CheckScope scope, String source, DdlStatement statement, Set<String> allowed,
			boolean includeAllowed, List<UnsafeStatement> findings) {
		List<Finding> found = new ArrayList<>();
		new StatementCheck(scope, statement.tokens(), found).run();
		for (Finding finding : found) {
			String code = finding.operation().code();
			if (includeAllowed || (!allowed.contains(code) && !statement.allowed().contains(code))) {
				findings.add(new UnsafeStatement(source, statement.index(), statement.line(), statement.sql(),
						finding.operation(), finding.detail()));
			}
		}
	}

	private record Finding(UnsafeOperation operation, @Nullable String detail) {
	}

	private final class StatementCheck extends TokenCursor {

		private final CheckScope scope;

		private final List<Finding> findings;

		private StatementCheck(CheckScope scope, List<SqlToken> tokens, List<Finding> findings) {
			super(tokens);
			this.scope = scope;
			this.findings = findings;
		}

		private void run() {
			if (accept("create")) {
				accept("or", "replace");
				if (accept("table") || accept("unlogged", "table")) {
					accept("if", "not", "exists");
					SqlName table = name();
					if (table != null) {
						this.scope.newTables.add(table.key());
						if (SqlToken.containsWords(this.tokens, this.position, "partition", "by")) {
							this.scope.partitionedTables.add(table.key());
						}
					}
				}
				else if (accept("index") || accept("unique", "index")) {
					createIndex();
				}
				else if (accept("materialized", "view")) {
					accept("if", "not", "exists");
					SqlName created = name();
					if (created != null) {
						this.scope.newOthers.add(created.key());
					}
				}
				else if (accept("domain")) {
					SqlName created = name();
					if (created != null) {
						this.scope.newOthers.add(created.key());
						if (contains("check") || containsAfter("not", "null")) {
							this.scope.constrainedDomains.add(created.key());
						}
					}
				}
			}
			else if (accept("alter", "table")) {
				alterTable();
			}
			else if (accept("alter", "index")) {
				accept("if", "exists");
				SqlName index = name();
				if (index != null && containsAfter("set", "tablespace")
						&& !this.scope.newIndexes.contains(index.key())) {
					found(UnsafeOperation.TABLE_REWRITE, "SET TABLESPACE of index " + index.sql());
				}
			}
			else if (accept("alter", "domain")) {
				alterDomain();
			}
			else if (word("alter") && renames()) {
				found(UnsafeOperation.RENAME, null);
			}
			else if (accept("drop", "table")) {
				dropInExpand("DROP TABLE");
			}
			else if (accept("drop", "view") || accept("drop", "materialized", "view")) {
				dropInExpand("DROP VIEW");
			}
			else if (accept("drop", "schema")) {
				dropInExpand("DROP SCHEMA");
			}
			else if (accept("drop", "index")) {
				dropIndex();
			}
			else if (accept("drop", "database")) {
				found(UnsafeOperation.DROP_DATABASE, null);
			}
			else if (accept("truncate")) {
				truncate();
			}
			else if (accept("update") || accept("delete", "from") || accept("merge", "into")) {
				changeRows();
			}
			else if (accept("refresh", "materialized", "view")) {
				if (!accept("concurrently")) {
					SqlName view = name();
					if (view != null && !this.scope.newOthers.contains(view.key())) {
						found(UnsafeOperation.REFRESH_MATERIALIZED_VIEW, null);
					}
				}
			}
			else if (accept("vacuum")) {
				if (contains("full")) {
					found(UnsafeOperation.VACUUM_FULL, null);
				}
			}
			else if (accept("repack")) {
				if (!DdlStatement.isConcurrentRepack(this.tokens)) {
					found(UnsafeOperation.VACUUM_FULL, "REPACK without CONCURRENTLY");
				}
			}
			else if (accept("cluster")) {
				found(UnsafeOperation.CLUSTER, null);
			}
			else if (accept("lock")) {
				found(UnsafeOperation.LOCK_TABLE, null);
			}
			else if (accept("reindex")) {
				if (!contains("concurrently")) {
					found(UnsafeOperation.REINDEX, null);
				}
			}
		}

		private void createIndex() {
			boolean concurrently = accept("concurrently");
			accept("if", "not", "exists");
			SqlName index = word("on") ? null : name();
			while (this.position < this.tokens.size() && !word("on")) {
				this.position++;
			}
			if (!accept("on")) {
				return;
			}
			boolean only = accept("only");
			SqlName table = name();
			if (table == null) {
				return;
			}
			if (index != null && !existing(table)) {
				this.scope.newIndexes.add(index.key());
			}
			// ON ONLY a partitioned table builds nothing: it is the first step of the
			// recipe for one.
			if (concurrently || only) {
				if (concurrently && partitioned(table)) {
					found(UnsafeOperation.PARTITIONED_CONCURRENT_INDEX, "on partitioned table " + table.sql());
				}
				if (concurrently || partitioned(table)) {
					return;
				}
			}
			if (existing(table)) {
				found(UnsafeOperation.CREATE_INDEX, "on existing table " + table.sql());
			}
		}

		private void alterTable() {
			accept("if", "exists");
			accept("only");
			SqlName table = name();
			if (table == null) {
				return;
			}
			accept("*");
			boolean existing = existing(table);
			for (List<SqlToken> action : actions()) {
				new AlterTableActionCheck(UnsafeStatementChecker.this.catalog, this.scope, table, existing, action,
						this::found)
					.run();
			}
		}

		// DROP INDEX [CONCURRENTLY] [IF EXISTS] name [, ...]: an index that does not
		// exist, or one built on a table the scripts create, takes no lock that matters.
		private void dropIndex() {
			if (accept("concurrently")) {
				return;
			}
			accept("if", "exists");
			for (List<SqlToken> names : actions()) {
				SqlName index = SqlName.read(names, 0, (end) -> {
				});
				if (index != null && !this.scope.newIndexes.contains(index.key())
						&& UnsafeStatementChecker.this.catalog.relationExists(index.sql())) {
					found(UnsafeOperation.DROP_INDEX, "index " + index.sql());
				}
			}
		}

		// TRUNCATE [TABLE] [ONLY] name [*] [, ...] [CASCADE]
		private void truncate() {
			accept("table");
			for (List<SqlToken> names : actions()) {
				int start = SqlToken.isWordAt(names, 0, "only") ? 1 : 0;
				SqlName table = SqlName.read(names, start, (end) -> {
				});
				if (table != null && existing(table)) {
					found(UnsafeOperation.TRUNCATE, "table " + table.sql()
							+ (contains("cascade") ? ", and with CASCADE the tables referencing it" : ""));
					return;
				}
			}
		}

		private void changeRows() {
			accept("only");
			SqlName table = name();
			if (table != null && existing(table)) {
				found(UnsafeOperation.BACKFILL_IN_SCRIPT, "rows of existing table " + table.sql());
			}
		}

		// Checking a domain's rows holds a SHARE lock on every table with a column of it,
		// VALIDATE CONSTRAINT included (unlike a table's): only a NOT VALID add is brief.
		private void alterDomain() {
			SqlName domain = name();
			if (domain == null || this.scope.newOthers.contains(domain.key())) {
				return;
			}
			String instead = ", blocking writes to every table with a column of it while it checks them: put the "
					+ "check on those tables' columns instead (ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT)";
			if (accept("add")) {
				int end = this.tokens.size();
				boolean notValid = end >= 2 && this.tokens.get(end - 2).isWord("not")
						&& this.tokens.get(end - 1).isWord("valid");
				if (!notValid) {
					found(UnsafeOperation.ADD_CONSTRAINT, "ADD CONSTRAINT on domain " + domain.sql() + instead);
				}
			}
			else if (accept("validate", "constraint")) {
				found(UnsafeOperation.ADD_CONSTRAINT, "VALIDATE CONSTRAINT on domain " + domain.sql() + instead);
			}
			else if (accept("set", "not", "null")) {
				found(UnsafeOperation.ADD_CONSTRAINT, "SET NOT NULL on domain " + domain.sql() + instead);
			}
			else if (accept("rename")) {
				if (!accept("constraint")) {
					found(UnsafeOperation.RENAME, null);
				}
			}
		}

		// ALTER SCHEMA / TYPE / VIEW / MATERIALIZED VIEW ... RENAME (TO, VALUE, COLUMN,
		// ATTRIBUTE), which old instances still name.
		private boolean renames() {
			boolean object = SqlToken.matchAt(this.tokens, 1, "schema") || SqlToken.matchAt(this.tokens, 1, "type")
					|| SqlToken.matchAt(this.tokens, 1, "view")
					|| SqlToken.matchAt(this.tokens, 1, "materialized", "view");
			return object && contains("rename") && !containsAfter("rename", "constraint");
		}

		private List<List<SqlToken>> actions() {
			return SqlToken.splitAtTopLevelCommas(this.tokens, this.position);
		}

		private boolean partitioned(SqlName table) {
			return this.scope.partitionedTables.contains(table.key())
					|| UnsafeStatementChecker.this.catalog.isPartitioned(table.sql());
		}

		private void dropInExpand(String what) {
			if (this.scope.step == DdlStep.EXPAND) {
				found(UnsafeOperation.DROP_IN_EXPAND, what + " in an expand script");
			}
		}

		private boolean existing(SqlName table) {
			if (this.scope.newTables.contains(table.key())) {
				return false;
			}
			return this.scope.createdBefore.contains(table.key())
					|| UnsafeStatementChecker.this.catalog.relationExists(table.sql());
		}

		private void found(UnsafeOperation operation, @Nullable String detail) {
			this.findings.add(new Finding(operation, detail));
		}

		private @Nullable SqlName name() {
			return SqlName.read(this.tokens, this.position, (end) -> this.position = end);
		}

		private boolean contains(String word) {
			return this.tokens.stream().anyMatch((token) -> token.isWord(word));
		}

		private boolean containsAfter(String... words) {
			return SqlToken.containsWords(this.tokens, this.position, words);
		}

	}

}
