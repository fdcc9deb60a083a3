package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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

	private static final Set<String> SERIAL_TYPES = Set.of("serial", "bigserial", "smallserial", "serial2", "serial4",
			"serial8");

	private static final Set<String> COLUMN_CONSTRAINT_WORDS = Set.of("default", "not", "null", "constraint", "check",
			"unique", "primary", "references", "generated", "collate");

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
		Scope expand = new Scope(DdlStep.EXPAND, Set.of());
		for (DdlScript script : expandScripts) {
			script.statements()
				.forEach((statement) -> check(expand, script.name(), statement, allowed, includeAllowed, findings));
		}
		Scope contract = new Scope(DdlStep.CONTRACT, expand.newTables);
		for (DdlScript script : contractScripts) {
			script.statements()
				.forEach((statement) -> check(contract, script.name(), statement, allowed, includeAllowed, findings));
		}
		return findings;
	}

	private void check(Scope scope, String source, DdlStatement statement, Set<String> allowed, boolean includeAllowed,
			List<UnsafeStatement> findings) {
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

	/**
	 * What the scripts of one step have done so far, as far as the checks care.
	 */
	private static final class Scope {

		private final DdlStep step;

		private final Set<String> createdBefore;

		private final Set<String> newTables = new HashSet<>();

		private final Set<String> partitionedTables = new HashSet<>();

		private final Set<String> newIndexes = new HashSet<>();

		private final Set<String> newOthers = new HashSet<>();

		private final Set<String> constrainedDomains = new HashSet<>();

		private final Map<String, String> notValidNotNullChecks = new HashMap<>();

		private final Set<String> provenNotNull = new HashSet<>();

		private Scope(DdlStep step, Set<String> createdBefore) {
			this.step = step;
			this.createdBefore = createdBefore;
		}

	}

	/**
	 * A position in a statement's tokens, moved on by matching words.
	 */
	private abstract static class TokenCursor {

		final List<SqlToken> tokens;

		int position;

		TokenCursor(List<SqlToken> tokens) {
			this.tokens = tokens;
		}

		boolean word(String word) {
			return SqlToken.isWordAt(this.tokens, this.position, word);
		}

		boolean accept(String... words) {
			if (!SqlToken.matchAt(this.tokens, this.position, words)) {
				return false;
			}
			this.position += words.length;
			return true;
		}

	}

	private final class StatementCheck extends TokenCursor {

		private final Scope scope;

		private final List<Finding> findings;

		private StatementCheck(Scope scope, List<SqlToken> tokens, List<Finding> findings) {
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
				if (!contains("concurrently")) {
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
				new ActionCheck(this, table, existing, action).run();
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

		private void alterDomain() {
			SqlName domain = name();
			if (domain == null || this.scope.newOthers.contains(domain.key())) {
				return;
			}
			if (accept("add")) {
				int end = this.tokens.size();
				boolean notValid = end >= 2 && this.tokens.get(end - 2).isWord("not")
						&& this.tokens.get(end - 1).isWord("valid");
				if (!notValid) {
					found(UnsafeOperation.ADD_CONSTRAINT, "on domain " + domain.sql());
				}
			}
			else if (accept("set", "not", "null")) {
				found(UnsafeOperation.ADD_CONSTRAINT, "SET NOT NULL on domain " + domain.sql()
						+ ": add CHECK (VALUE IS NOT NULL) NOT VALID and validate it instead");
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

	/**
	 * Checks one action of an {@code ALTER TABLE}.
	 */
	private final class ActionCheck extends TokenCursor {

		private final StatementCheck statement;

		private final SqlName table;

		private final boolean existing;

		private ActionCheck(StatementCheck statement, SqlName table, boolean existing, List<SqlToken> tokens) {
			super(tokens);
			this.statement = statement;
			this.table = table;
			this.existing = existing;
		}

		private void run() {
			if (accept("add")) {
				add();
			}
			else if (accept("alter")) {
				accept("column");
				SqlToken column = next();
				if (column != null && column.isName()) {
					alterColumn(column.value());
				}
			}
			else if (accept("rename")) {
				if (!accept("constraint")) {
					this.statement.found(UnsafeOperation.RENAME, null);
				}
			}
			else if (accept("set", "schema")) {
				this.statement.found(UnsafeOperation.RENAME, "SET SCHEMA moves the table");
			}
			else if (accept("set", "tablespace") || accept("set", "logged") || accept("set", "unlogged")
					|| accept("set", "access", "method")) {
				if (this.existing) {
					this.statement.found(UnsafeOperation.TABLE_REWRITE, null);
				}
			}
			else if (accept("detach", "partition")) {
				if (this.existing && !containsWords("concurrently") && !containsWords("finalize")) {
					this.statement.found(UnsafeOperation.DETACH_PARTITION, "of " + this.table.sql());
				}
			}
			else if (accept("drop")) {
				if (!accept("constraint")) {
					this.statement.dropInExpand("DROP COLUMN");
				}
			}
			else if (accept("validate", "constraint")) {
				SqlToken name = next();
				if (name != null) {
					String check = this.table.key() + "/" + name.value();
					String column = this.statement.scope.notValidNotNullChecks.get(check);
					if (column != null) {
						this.statement.scope.provenNotNull.add(this.table.key() + "/" + column);
					}
				}
			}
		}

		private void add() {
			if (accept("constraint")) {
				SqlToken name = next();
				addConstraint((name != null) ? name.value() : null);
			}
			else if (word("foreign") || word("check") || word("unique") || word("primary") || word("exclude")) {
				addConstraint(null);
			}
			else {
				accept("column");
				accept("if", "not", "exists");
				addColumn();
			}
		}

		private void addConstraint(@Nullable String name) {
			boolean notValid = endsWith("not", "valid");
			if (word("foreign") || word("check")) {
				if (word("check") && notValid && name != null) {
					recordNotNullCheck(name);
				}
				if (!notValid && this.existing) {
					this.statement.found(UnsafeOperation.ADD_CONSTRAINT, null);
				}
			}
			else if ((word("unique") || word("primary") || word("exclude")) && !containsWords("using", "index")
					&& this.existing) {
				this.statement.found(UnsafeOperation.ADD_UNIQUE_CONSTRAINT, null);
			}
			else if (word("primary") && this.existing) {
				primaryKeyUsingIndex();
			}
		}

		// PRIMARY KEY USING INDEX sets the index's columns NOT NULL, with the same scan
		// as
		// SET NOT NULL unless a validated check proves them.
		private void primaryKeyUsingIndex() {
			int using = indexOf("using");
			SqlName index = SqlName.read(this.tokens, using + 2, (end) -> {
			});
			if (index == null) {
				return;
			}
			for (String column : UnsafeStatementChecker.this.catalog.nullableIndexColumns(index.sql())) {
				if (!this.statement.scope.provenNotNull.contains(this.table.key() + "/" + column)
						&& !UnsafeStatementChecker.this.catalog.isProvenNotNull(this.table.sql(), column)) {
					this.statement.found(UnsafeOperation.SET_NOT_NULL,
							"PRIMARY KEY USING INDEX sets column " + column + " NOT NULL");
				}
			}
		}

		// CHECK ( column IS NOT NULL ) NOT VALID, remembered so that a later VALIDATE
		// proves the column not null.
		private void recordNotNullCheck(String name) {
			if (this.tokens.size() - this.position >= 7 && tokenAt(1).isSymbol("(") && tokenAt(2).isName()
					&& tokenAt(3).isWord("is") && tokenAt(4).isWord("not") && tokenAt(5).isWord("null")
					&& tokenAt(6).isSymbol(")")) {
				this.statement.scope.notValidNotNullChecks.put(this.table.key() + "/" + name, tokenAt(2).value());
			}
		}

		private void addColumn() {
			SqlToken column = next();
			if (column == null || !this.existing) {
				return;
			}
			int typeStart = this.position;
			int depth = 0;
			while (this.position < this.tokens.size()) {
				SqlToken token = this.tokens.get(this.position);
				if (depth == 0 && isColumnConstraintWord(token)) {
					break;
				}
				depth += token.isSymbol("(") ? 1 : (token.isSymbol(")") ? -1 : 0);
				this.position++;
			}
			SqlToken type = (typeStart < this.tokens.size()) ? this.tokens.get(typeStart) : null;
			if (type != null && type.type() == SqlToken.Type.WORD && SERIAL_TYPES.contains(type.value())) {
				this.statement.found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
						type.value() + " column " + column.value());
				return;
			}
			SqlName typeName = SqlName.read(this.tokens, typeStart, (end) -> {
			});
			if (typeName != null && (this.statement.scope.constrainedDomains.contains(typeName.key())
					|| UnsafeStatementChecker.this.catalog.isConstrainedDomain(typeName.sql()))) {
				this.statement.found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
						"column " + column.value() + " of domain " + typeName.sql() + ", which has constraints");
				return;
			}
			if (containsWords("generated")) {
				this.statement.found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
						"identity or generated column " + column.value());
				return;
			}
			String volatileFunction = volatileFunctionInDefault();
			if (volatileFunction != null) {
				this.statement.found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
						"default of " + column.value() + " calls volatile function " + volatileFunction + "()");
				return;
			}
			if (containsWords("not", "null") && !containsWords("default")) {
				this.statement.found(UnsafeOperation.ADD_COLUMN_NOT_NULL, "column " + column.value());
			}
			if (containsWords("unique") || containsWords("primary", "key")) {
				this.statement.found(UnsafeOperation.ADD_UNIQUE_CONSTRAINT, "column " + column.value());
			}
			if (containsWords("references") || containsWords("check")) {
				this.statement.found(UnsafeOperation.ADD_CONSTRAINT,
						((containsWords("references") ? "foreign key" : "check") + " of new column " + column.value()));
			}
			if (type != null && type.isWord("json")) {
				this.statement.found(UnsafeOperation.JSON_COLUMN, "column " + column.value());
			}
		}

		private @Nullable String volatileFunctionInDefault() {
			int start = indexOf("default");
			if (start < 0) {
				return null;
			}
			int depth = 0;
			for (int i = start + 1; i < this.tokens.size(); i++) {
				SqlToken token = this.tokens.get(i);
				if (depth == 0 && isColumnConstraintWord(token)) {
					break;
				}
				depth += token.isSymbol("(") ? 1 : (token.isSymbol(")") ? -1 : 0);
				if (token.isName() && i + 1 < this.tokens.size() && this.tokens.get(i + 1).isSymbol("(")
						&& UnsafeStatementChecker.this.catalog.isVolatile(token.value())) {
					return token.value();
				}
			}
			return null;
		}

		private void alterColumn(String column) {
			if (accept("type") || accept("set", "data", "type")) {
				if (this.existing) {
					String problem = typeChangeProblem(column);
					if (problem != null) {
						this.statement.found(UnsafeOperation.ALTER_COLUMN_TYPE, problem);
					}
				}
			}
			else if (accept("set", "expression")) {
				if (this.existing) {
					this.statement.found(UnsafeOperation.TABLE_REWRITE, "SET EXPRESSION of column " + column);
				}
			}
			else if (accept("set", "not", "null")) {
				if (this.existing && !this.statement.scope.provenNotNull.contains(this.table.key() + "/" + column)
						&& !UnsafeStatementChecker.this.catalog.isProvenNotNull(this.table.sql(), column)) {
					this.statement.found(UnsafeOperation.SET_NOT_NULL, "column " + column);
				}
			}
		}

		private @Nullable String typeChangeProblem(String column) {
			if (containsWords("using")) {
				return "USING rewrites every row of column " + column;
			}
			String current = UnsafeStatementChecker.this.catalog.columnType(this.table.sql(), column);
			ColumnType target = ColumnType.parse(this.tokens.subList(this.position, this.tokens.size()));
			if (current == null || target == null) {
				return "column " + column + " cannot be shown to keep its storage";
			}
			ColumnType from = ColumnType.parse(SqlScriptParser.parse(current).get(0).tokens());
			if (from == null || !from.canWidenTo(target)) {
				return "column " + column + " from " + current + " to " + target;
			}
			int collate = indexOf("collate");
			SqlName collation = (collate >= 0) ? SqlName.read(this.tokens, collate + 1, (end) -> {
			}) : null;
			if (collation != null) {
				String currentCollation = UnsafeStatementChecker.this.catalog.columnCollation(this.table.sql(), column);
				if (!collation.key().equals(currentCollation)) {
					return "column " + column + " changes its collation from " + currentCollation + " to "
							+ collation.key() + ", which rebuilds its indexes";
				}
			}
			List<String> checks = UnsafeStatementChecker.this.catalog.checksOnColumn(this.table.sql(), column);
			if (!checks.isEmpty()) {
				return "column " + column + " has check constraint " + String.join(", ", checks)
						+ ", checked again on every row";
			}
			return null;
		}

		private @Nullable SqlToken next() {
			return (this.position < this.tokens.size()) ? this.tokens.get(this.position++) : null;
		}

		private SqlToken tokenAt(int offset) {
			return this.tokens.get(this.position + offset);
		}

		private int indexOf(String word) {
			for (int i = this.position; i < this.tokens.size(); i++) {
				if (this.tokens.get(i).isWord(word)) {
					return i;
				}
			}
			return -1;
		}

		private boolean containsWords(String... words) {
			return SqlToken.containsWords(this.tokens, this.position, words);
		}

		private boolean endsWith(String... words) {
			int start = this.tokens.size() - words.length;
			if (start < this.position) {
				return false;
			}
			for (int i = 0; i < words.length; i++) {
				if (!this.tokens.get(start + i).isWord(words[i])) {
					return false;
				}
			}
			return true;
		}

	}

	private static boolean isColumnConstraintWord(SqlToken token) {
		return token.type() == SqlToken.Type.WORD && COLUMN_CONSTRAINT_WORDS.contains(token.value());
	}

}
