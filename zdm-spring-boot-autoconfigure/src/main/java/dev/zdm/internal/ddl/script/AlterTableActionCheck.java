package dev.zdm.internal.ddl.script;

import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

import org.jspecify.annotations.Nullable;

import dev.zdm.ddl.UnsafeOperation;

/**
 * Checks one action of an {@code ALTER TABLE} for {@link UnsafeStatementChecker}.
 */
final class AlterTableActionCheck extends TokenCursor {

	private static final Set<String> SERIAL_TYPES = Set.of("serial", "bigserial", "smallserial", "serial2", "serial4",
			"serial8");

	private static final Set<String> COLUMN_CONSTRAINT_WORDS = Set.of("default", "not", "null", "constraint", "check",
			"unique", "primary", "references", "generated", "collate");

	private final DdlCatalog catalog;

	private final CheckScope scope;

	private final SqlName table;

	private final boolean existing;

	private final BiConsumer<UnsafeOperation, @Nullable String> findings;

	AlterTableActionCheck(DdlCatalog catalog, CheckScope scope, SqlName table, boolean existing, List<SqlToken> tokens,
			BiConsumer<UnsafeOperation, @Nullable String> findings) {
		super(tokens);
		this.catalog = catalog;
		this.scope = scope;
		this.table = table;
		this.existing = existing;
		this.findings = findings;
	}

	private void found(UnsafeOperation operation, @Nullable String detail) {
		this.findings.accept(operation, detail);
	}

	void run() {
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
				found(UnsafeOperation.RENAME, null);
			}
		}
		else if (accept("set", "schema")) {
			found(UnsafeOperation.RENAME, "SET SCHEMA moves the table");
		}
		else if (accept("set", "tablespace") || accept("set", "logged") || accept("set", "unlogged")
				|| accept("set", "access", "method")) {
			if (this.existing) {
				found(UnsafeOperation.TABLE_REWRITE, null);
			}
		}
		else if (accept("attach", "partition")) {
			attachPartition();
		}
		else if (accept("detach", "partition")) {
			if (this.existing && !containsWords("concurrently") && !containsWords("finalize")) {
				found(UnsafeOperation.DETACH_PARTITION, "of " + this.table.sql());
			}
		}
		else if (accept("drop")) {
			if (!accept("constraint")) {
				if (this.scope.step == DdlStep.EXPAND) {
					found(UnsafeOperation.DROP_IN_EXPAND, "DROP COLUMN in an expand script");
				}
			}
		}
		else if (accept("validate", "constraint")) {
			SqlToken name = next();
			if (name != null) {
				String check = this.table.key() + "/" + name.value();
				String column = this.scope.notValidNotNullChecks.get(check);
				if (column != null) {
					this.scope.provenNotNull.add(this.table.key() + "/" + column);
				}
			}
		}
	}

	// PostgreSQL scans the attached table for rows outside the bound unless a validated
	// check implies it, which only its planner can prove: a table the scripts create
	// is not reported, one that exists is, and the recipe ends with an allow comment.
	private void attachPartition() {
		SqlName attached = SqlName.read(this.tokens, this.position, (end) -> this.position = end);
		if (attached == null || this.scope.newTables.contains(attached.key())) {
			return;
		}
		if (this.scope.createdBefore.contains(attached.key()) || this.catalog.relationExists(attached.sql())) {
			found(UnsafeOperation.ATTACH_PARTITION_SCAN,
					"table " + attached.sql() + " attached to " + this.table.sql());
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
				found(UnsafeOperation.ADD_CONSTRAINT, null);
			}
		}
		else if ((word("unique") || word("primary") || word("exclude")) && !containsWords("using", "index")
				&& this.existing) {
			found(UnsafeOperation.ADD_UNIQUE_CONSTRAINT, null);
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
		for (String column : this.catalog.nullableIndexColumns(index.sql())) {
			if (!this.scope.provenNotNull.contains(this.table.key() + "/" + column)
					&& !this.catalog.isProvenNotNull(this.table.sql(), column)) {
				found(UnsafeOperation.SET_NOT_NULL, "PRIMARY KEY USING INDEX sets column " + column + " NOT NULL");
			}
		}
	}

	// CHECK ( column IS NOT NULL ) NOT VALID, remembered so that a later VALIDATE
	// proves the column not null.
	private void recordNotNullCheck(String name) {
		if (this.tokens.size() - this.position >= 7 && tokenAt(1).isSymbol("(") && tokenAt(2).isName()
				&& tokenAt(3).isWord("is") && tokenAt(4).isWord("not") && tokenAt(5).isWord("null")
				&& tokenAt(6).isSymbol(")")) {
			this.scope.notValidNotNullChecks.put(this.table.key() + "/" + name, tokenAt(2).value());
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
			found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT, type.value() + " column " + column.value());
			return;
		}
		SqlName typeName = SqlName.read(this.tokens, typeStart, (end) -> {
		});
		if (typeName != null && (this.scope.constrainedDomains.contains(typeName.key())
				|| this.catalog.isConstrainedDomain(typeName.sql()))) {
			found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
					"column " + column.value() + " of domain " + typeName.sql() + ", which has constraints");
			return;
		}
		if (containsWords("generated")) {
			found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT, "identity or generated column " + column.value());
			return;
		}
		String volatileFunction = volatileFunctionInDefault();
		if (volatileFunction != null) {
			found(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT,
					"default of " + column.value() + " calls volatile function " + volatileFunction + "()");
			return;
		}
		if (containsWords("not", "null") && !containsWords("default")) {
			found(UnsafeOperation.ADD_COLUMN_NOT_NULL, "column " + column.value());
		}
		if (containsWords("unique") || containsWords("primary", "key")) {
			found(UnsafeOperation.ADD_UNIQUE_CONSTRAINT, "column " + column.value());
		}
		if (containsWords("references") || containsWords("check")) {
			found(UnsafeOperation.ADD_CONSTRAINT,
					((containsWords("references") ? "foreign key" : "check") + " of new column " + column.value()));
		}
		if (type != null && type.isWord("json")) {
			found(UnsafeOperation.JSON_COLUMN, "column " + column.value());
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
					&& this.catalog.isVolatile(token.value())) {
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
					found(UnsafeOperation.ALTER_COLUMN_TYPE, problem);
				}
			}
		}
		else if (accept("set", "expression")) {
			if (this.existing) {
				found(UnsafeOperation.TABLE_REWRITE, "SET EXPRESSION of column " + column);
			}
		}
		else if (accept("set", "not", "null")) {
			if (this.existing && !this.scope.provenNotNull.contains(this.table.key() + "/" + column)
					&& !this.catalog.isProvenNotNull(this.table.sql(), column)) {
				found(UnsafeOperation.SET_NOT_NULL, "column " + column);
			}
		}
	}

	private @Nullable String typeChangeProblem(String column) {
		if (containsWords("using")) {
			return "USING rewrites every row of column " + column;
		}
		String current = this.catalog.columnType(this.table.sql(), column);
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
			String currentCollation = this.catalog.columnCollation(this.table.sql(), column);
			if (!collation.key().equals(currentCollation)) {
				return "column " + column + " changes its collation from " + currentCollation + " to " + collation.key()
						+ ", which rebuilds its indexes";
			}
		}
		List<String> checks = this.catalog.checksOnColumn(this.table.sql(), column);
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

	private static boolean isColumnConstraintWord(SqlToken token) {
		return token.type() == SqlToken.Type.WORD && COLUMN_CONSTRAINT_WORDS.contains(token.value());
	}

}
