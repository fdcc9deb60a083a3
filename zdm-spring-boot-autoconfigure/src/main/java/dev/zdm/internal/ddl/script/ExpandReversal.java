package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

/**
 * The statements that drop what a migration's expand created, read from the expand's
 * statements without the database, for an abandoned migration. Each statement is reversed
 * by a drop with {@code IF EXISTS}, so that an abandon that stopped half-way runs again
 * doing only what is left, and the drops run in the reverse order of the statements they
 * undo (an index before its column, a column before its table):
 * <ul>
 * <li>{@code CREATE TABLE}, {@code VIEW}, {@code MATERIALIZED VIEW}, {@code SEQUENCE},
 * {@code TYPE}, {@code FUNCTION}, {@code PROCEDURE}, {@code TRIGGER} and a named
 * {@code INDEX} (dropped {@code CONCURRENTLY} when it was built so);</li>
 * <li>{@code ALTER TABLE ... ADD COLUMN} and {@code ADD CONSTRAINT} (a
 * {@code VALIDATE CONSTRAINT} of a constraint added before needs nothing);</li>
 * <li>{@code SET}, {@code RESET}, {@code ANALYZE} and {@code VACUUM}, which change no
 * schema, need nothing.</li>
 * </ul>
 * Anything else cannot be reversed from its text: a change of something that existed
 * before (an {@code ALTER COLUMN}, a {@code DROP}, an {@code UPDATE}, a
 * {@code CREATE OR REPLACE}), a {@code DO} block, an unnamed index or constraint, and an
 * {@code IF NOT EXISTS} unless the DDL history recorded whether PostgreSQL skipped its
 * object as existing when it ran: then what it created is dropped, and what it skipped
 * left alone. Statements zdm generated itself (its sync trigger, the declared columns and
 * indexes) are only generated for what does not exist, so their {@code OR REPLACE} and
 * {@code IF NOT EXISTS} are reversed.
 */
public final class ExpandReversal {

	private static final Set<String> NO_SCHEMA_CHANGE = Set.of("set", "reset", "analyze", "analyse", "vacuum");

	private final List<String> drops = new ArrayList<>();

	private final List<String> irreversible = new ArrayList<>();

	private final Set<String> addedConstraints = new HashSet<>();

	private ExpandReversal() {
	}

	/**
	 * Read what the given expand statements create.
	 * @param statements the statements, in the order they ran
	 * @return the reversal
	 */
	public static ExpandReversal of(List<ExpandStatement> statements) {
		ExpandReversal reversal = new ExpandReversal();
		statements.forEach(reversal::read);
		return reversal;
	}

	/**
	 * Return the statements that drop what the expand created, in the order to run them.
	 * @return the drops
	 */
	public List<String> statements() {
		List<String> statements = new ArrayList<>(this.drops);
		Collections.reverse(statements);
		return statements;
	}

	/**
	 * Return the statements that cannot be reversed, each with its source and why.
	 * @return for example
	 * {@code V1__add.sql statement 2: UPDATE t SET c = 1 (changes what existed before)}
	 */
	public List<String> irreversible() {
		return List.copyOf(this.irreversible);
	}

	private void read(ExpandStatement expand) {
		List<SqlToken> tokens = expand.statement().tokens();
		if (tokens.isEmpty() || NO_SCHEMA_CHANGE.contains(tokens.get(0).value())) {
			return;
		}
		String problem = SqlToken.isWordAt(tokens, 0, "create") ? readCreate(tokens, expand)
				: SqlToken.matchAt(tokens, 0, "alter", "table") ? readAlterTable(tokens, expand)
						: "zdm cannot tell what it changes";
		if (problem != null) {
			this.irreversible.add(expand.source() + " statement " + expand.statement().index() + ": "
					+ expand.statement().abbreviated() + " (" + problem + ")");
		}
	}

	private @Nullable String readCreate(List<SqlToken> tokens, ExpandStatement expand) {
		boolean generated = expand.generated();
		Cursor cursor = new Cursor(tokens, 1);
		boolean replace = cursor.accept("or", "replace");
		boolean unique = cursor.accept("unique");
		cursor.accept("unlogged");
		boolean materialized = cursor.accept("materialized");
		if (cursor.atEnd()) {
			return "zdm cannot tell what it creates";
		}
		String kind = tokens.get(cursor.position++).value();
		if (replace && !generated) {
			return "CREATE OR REPLACE may have replaced a " + kind + " that existed before";
		}
		boolean concurrently = cursor.accept("concurrently");
		boolean ifNotExists = cursor.accept("if", "not", "exists");
		if (ifNotExists && !generated) {
			if (expand.skippedExisting() == null) {
				return "with IF NOT EXISTS, the " + kind + " may have existed before";
			}
			if (expand.skippedExisting()) {
				// it existed before, and the statement left it as it was
				return null;
			}
		}
		if (unique && !kind.equals("index")) {
			return "zdm cannot tell what it creates";
		}
		SqlName name = cursor.name();
		if (name == null || (kind.equals("index") && name.key().equals("on"))) {
			return "an unnamed " + kind + " cannot be dropped by name";
		}
		switch (kind) {
			case "table" -> this.drops.add("DROP TABLE IF EXISTS " + name.sql());
			case "view" ->
				this.drops.add("DROP " + (materialized ? "MATERIALIZED " : "") + "VIEW IF EXISTS " + name.sql());
			case "sequence" -> this.drops.add("DROP SEQUENCE IF EXISTS " + name.sql());
			case "type" -> this.drops.add("DROP TYPE IF EXISTS " + name.sql());
			case "function", "procedure" -> {
				String arguments = cursor.arguments();
				if (arguments == null) {
					return "zdm cannot read its arguments (a DEFAULT in them cannot be written in a DROP)";
				}
				this.drops.add("DROP " + kind.toUpperCase() + " IF EXISTS " + name.sql() + "(" + arguments + ")");
			}
			case "index" -> {
				if (!cursor.skipTo("on")) {
					return "zdm cannot tell its table";
				}
				cursor.accept("only");
				String schema = cursor.schema();
				this.drops.add("DROP INDEX " + (concurrently ? "CONCURRENTLY " : "") + "IF EXISTS "
						+ ((schema != null) ? schema + "." : "") + name.sql());
			}
			case "trigger" -> {
				if (!cursor.skipTo("on")) {
					return "zdm cannot tell its table";
				}
				SqlName table = cursor.name();
				if (table == null) {
					return "zdm cannot tell its table";
				}
				this.drops.add("DROP TRIGGER IF EXISTS " + name.sql() + " ON " + table.sql());
			}
			default -> {
				return "zdm does not drop a " + kind;
			}
		}
		return null;
	}

	private @Nullable String readAlterTable(List<SqlToken> tokens, ExpandStatement expand) {
		boolean generated = expand.generated();
		Cursor cursor = new Cursor(tokens, 2);
		cursor.accept("if", "exists");
		cursor.accept("only");
		SqlName table = cursor.name();
		if (table == null) {
			return "zdm cannot tell its table";
		}
		List<String> drops = new ArrayList<>();
		List<List<SqlToken>> actions = SqlToken.splitAtTopLevelCommas(tokens, cursor.position);
		for (List<SqlToken> action : actions) {
			Cursor add = new Cursor(action, 0);
			if (add.accept("add", "constraint") || add.accept("validate", "constraint")) {
				SqlName constraint = add.name();
				if (constraint == null) {
					return "zdm cannot tell the constraint's name";
				}
				String key = table.key() + "." + constraint.key();
				if (action.get(0).isWord("add")) {
					this.addedConstraints.add(key);
					drops.add("ALTER TABLE " + table.sql() + " DROP CONSTRAINT IF EXISTS " + constraint.sql());
				}
				else if (!this.addedConstraints.contains(key)) {
					return "it validates a constraint that existed before";
				}
				continue;
			}
			if (!add.accept("add") || add.word("primary") || add.word("unique") || add.word("check")
					|| add.word("foreign") || add.word("exclude")) {
				return "it changes what existed before, or adds an unnamed constraint";
			}
			add.accept("column");
			if (add.accept("if", "not", "exists") && !generated && !Boolean.FALSE.equals(expand.skippedExisting())) {
				if (expand.skippedExisting() == null) {
					return "with IF NOT EXISTS, the column may have existed before";
				}
				if (actions.size() > 1) {
					return "PostgreSQL skipped a column that existed before, and zdm cannot tell which";
				}
				// it existed before, and the statement left it as it was
				continue;
			}
			SqlName column = add.name();
			if (column == null) {
				return "zdm cannot tell the column's name";
			}
			drops.add("ALTER TABLE " + table.sql() + " DROP COLUMN IF EXISTS " + column.sql());
		}
		this.drops.addAll(drops);
		return null;
	}

	/**
	 * One statement the expand ran.
	 *
	 * @param source the script's file name, or {@code contributor:<class>}
	 * @param statement the statement
	 * @param generated whether zdm generated it (only for what did not exist)
	 * @param skippedExisting whether PostgreSQL skipped what it creates because it
	 * existed already (the notice of an {@code IF NOT EXISTS}) when it ran, or
	 * {@code null} if not known: an {@code IF NOT EXISTS} that skipped nothing created
	 * what it names, one that skipped changed nothing
	 */
	public record ExpandStatement(String source, DdlStatement statement, boolean generated,
			@Nullable Boolean skippedExisting) {

		/**
		 * A statement not known to have skipped anything or not.
		 * @param source the script's file name, or {@code contributor:<class>}
		 * @param statement the statement
		 * @param generated whether zdm generated it (only for what did not exist)
		 */
		public ExpandStatement(String source, DdlStatement statement, boolean generated) {
			this(source, statement, generated, null);
		}

	}

	private static final class Cursor {

		private final List<SqlToken> tokens;

		private int position;

		private Cursor(List<SqlToken> tokens, int position) {
			this.tokens = tokens;
			this.position = position;
		}

		private boolean atEnd() {
			return this.position >= this.tokens.size();
		}

		private boolean word(String word) {
			return SqlToken.isWordAt(this.tokens, this.position, word);
		}

		private boolean accept(String... words) {
			if (!SqlToken.matchAt(this.tokens, this.position, words)) {
				return false;
			}
			this.position += words.length;
			return true;
		}

		private @Nullable SqlName name() {
			return SqlName.read(this.tokens, this.position, (end) -> this.position = end);
		}

		// The schema of the name at the cursor, as SQL text, if it is qualified.
		private @Nullable String schema() {
			if (this.position + 2 < this.tokens.size() && this.tokens.get(this.position).isName()
					&& this.tokens.get(this.position + 1).isSymbol(".")) {
				return this.tokens.get(this.position).sql();
			}
			return null;
		}

		// Moves past the next top-level key word, outside parentheses.
		private boolean skipTo(String word) {
			int depth = 0;
			for (int i = this.position; i < this.tokens.size(); i++) {
				SqlToken token = this.tokens.get(i);
				depth += token.isSymbol("(") ? 1 : token.isSymbol(")") ? -1 : 0;
				if (depth == 0 && token.isWord(word)) {
					this.position = i + 1;
					return true;
				}
			}
			return false;
		}

		// The argument list in parentheses at the cursor, as SQL text, or null if it has
		// defaults or is not there.
		private @Nullable String arguments() {
			if (!accept("(")) {
				return null;
			}
			List<String> parts = new ArrayList<>();
			int depth = 0;
			for (int i = this.position; i < this.tokens.size(); i++) {
				SqlToken token = this.tokens.get(i);
				if (token.isWord("default") || token.isSymbol("=")) {
					return null;
				}
				if (token.isSymbol("(")) {
					depth++;
				}
				else if (token.isSymbol(")")) {
					if (depth == 0) {
						this.position = i + 1;
						return parts.stream()
							.collect(Collectors.joining(" "))
							.replace(" ,", ",")
							.replace("( ", "(")
							.replace(" )", ")")
							.replace(" (", "(");
					}
					depth--;
				}
				parts.add(token.sql());
			}
			return null;
		}

	}

}
