package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

/**
 * What a migration's scripts create, as far as their text shows: tables, indexes, views,
 * sequences, functions and types created, and columns added to tables. Read from the
 * statements' tokens, without the database, so that clashes between migrations and new
 * columns that no script adds are found before anything runs. Statements that build their
 * DDL at run time (in a {@code DO} block or a function) are not seen.
 */
public final class ScriptObjects {

	private static final Set<String> CREATED_KINDS = Set.of("table", "index", "view", "sequence", "function",
			"procedure", "type");

	private static final Set<String> COLUMN_END_WORDS = Set.of("default", "not", "null", "constraint", "check",
			"unique", "primary", "references", "generated", "collate");

	private final List<CreatedObject> created = new ArrayList<>();

	private final List<AddedColumn> addedColumns = new ArrayList<>();

	private final List<DroppedColumn> droppedColumns = new ArrayList<>();

	private final List<DroppedColumn> droppedWithCascade = new ArrayList<>();

	private final List<String> droppedViews = new ArrayList<>();

	private final List<String> namedSequences = new ArrayList<>();

	private boolean dynamic;

	private ScriptObjects() {
	}

	/**
	 * Read what the given scripts create.
	 * @param scripts the scripts
	 * @return what they create
	 */
	public static ScriptObjects of(List<DdlScript> scripts) {
		ScriptObjects objects = new ScriptObjects();
		for (DdlScript script : scripts) {
			for (DdlStatement statement : script.statements()) {
				objects.read(script.name(), statement.tokens());
			}
		}
		return objects;
	}

	/**
	 * Return the objects the scripts create.
	 * @return the objects, in script order
	 */
	public List<CreatedObject> created() {
		return List.copyOf(this.created);
	}

	/**
	 * Return the columns the scripts add to tables, with
	 * {@code ALTER TABLE ... ADD COLUMN} or in a {@code CREATE TABLE}.
	 * @return the columns, in script order
	 */
	public List<AddedColumn> addedColumns() {
		return List.copyOf(this.addedColumns);
	}

	/**
	 * Return the columns the scripts add to one table.
	 * @param table the table's name, without schema, as the catalog stores it
	 * @return the columns, in script order
	 */
	public List<AddedColumn> addedColumns(String table) {
		return this.addedColumns.stream().filter((column) -> column.table().equals(table)).toList();
	}

	/**
	 * Return the columns the scripts drop without {@code CASCADE}, with
	 * {@code ALTER TABLE ... DROP [COLUMN]}: PostgreSQL refuses such a drop while another
	 * object depends on the column.
	 * @return the columns, in script order
	 */
	public List<DroppedColumn> droppedColumns() {
		return List.copyOf(this.droppedColumns);
	}

	/**
	 * Return the columns the scripts drop with {@code CASCADE}.
	 * @return the columns, in script order
	 */
	public List<DroppedColumn> droppedWithCascade() {
		return List.copyOf(this.droppedWithCascade);
	}

	/**
	 * Return the columns the scripts drop from a table, with or without {@code CASCADE}.
	 * @param table the table's name, without schema, as the catalog stores it
	 * @return the columns' names as the catalog stores them, in script order, each once
	 */
	public List<String> columnsDroppedFrom(String table) {
		return Stream.concat(this.droppedColumns.stream(), this.droppedWithCascade.stream())
			.filter((dropped) -> unqualified(dropped.table()).equals(table))
			.map(DroppedColumn::column)
			.distinct()
			.toList();
	}

	/**
	 * Whether the scripts drop a column of a table, with or without {@code CASCADE}.
	 * @param table the table's name, without schema, as the catalog stores it
	 * @param column the column's name, as the catalog stores it
	 * @return {@code true} if an {@code ALTER TABLE ... DROP [COLUMN]} drops it
	 */
	public boolean dropsColumn(String table, String column) {
		return columnsDroppedFrom(table).contains(column);
	}

	private static String unqualified(String tableSql) {
		String name = tableSql.substring(tableSql.lastIndexOf('.') + 1);
		return (name.startsWith("\"") && name.endsWith("\""))
				? name.substring(1, name.length() - 1).replace("\"\"", "\"") : name.toLowerCase(Locale.ROOT);
	}

	/**
	 * Return the views and materialized views the scripts drop.
	 * @return their names as the scripts write them, without schema, in script order
	 */
	public List<String> droppedViews() {
		return List.copyOf(this.droppedViews);
	}

	/**
	 * Return the sequences the scripts alter or drop.
	 * @return their names as the scripts write them, without schema, in script order
	 */
	public List<String> alteredOrDroppedSequences() {
		return List.copyOf(this.namedSequences);
	}

	/**
	 * Return whether a statement may change the schema in a way its text does not show: a
	 * {@code DO} block, or a {@code SELECT}, {@code CALL} or {@code EXECUTE} that may run
	 * a function or procedure.
	 * @return whether the scripts may create or add more than {@link #created()} and
	 * {@link #addedColumns()} say
	 */
	public boolean hasDynamicStatements() {
		return this.dynamic;
	}

	private void read(String script, List<SqlToken> tokens) {
		Cursor cursor = new Cursor(tokens);
		if (cursor.word("do") || cursor.word("select") || cursor.word("call") || cursor.word("execute")) {
			this.dynamic = true;
		}
		if (cursor.accept("create")) {
			cursor.accept("or", "replace");
			cursor.accept("unique");
			cursor.accept("unlogged");
			cursor.accept("materialized");
			if (cursor.position >= tokens.size() || !CREATED_KINDS.contains(tokens.get(cursor.position).value())) {
				return;
			}
			String kind = tokens.get(cursor.position++).value();
			cursor.accept("concurrently");
			cursor.accept("if", "not", "exists");
			SqlName name = cursor.name();
			if (name == null || (kind.equals("index") && name.key().equals("on"))) {
				return;
			}
			this.created.add(new CreatedObject(kind, name.key(), script));
			if (kind.equals("table") && cursor.accept("(")) {
				for (List<SqlToken> element : cursor.elements()) {
					if (!element.isEmpty() && element.get(0).isName() && !isConstraint(element.get(0))) {
						this.addedColumns
							.add(new AddedColumn(name.key(), element.get(0).value(), type(element, 1), script));
					}
				}
			}
		}
		else if (cursor.accept("drop", "view") || cursor.accept("drop", "materialized", "view")) {
			cursor.accept("if", "exists");
			for (List<SqlToken> element : cursor.elements()) {
				SqlName view = new Cursor(element).name();
				if (view != null) {
					this.droppedViews.add(view.key());
				}
			}
		}
		else if (cursor.accept("alter", "sequence") || cursor.accept("drop", "sequence")) {
			cursor.accept("if", "exists");
			for (List<SqlToken> element : cursor.elements()) {
				SqlName sequence = new Cursor(element).name();
				if (sequence != null) {
					this.namedSequences.add(sequence.key());
				}
			}
		}
		else if (cursor.accept("alter", "table")) {
			cursor.accept("if", "exists");
			cursor.accept("only");
			SqlName table = cursor.name();
			if (table == null) {
				return;
			}
			for (List<SqlToken> action : cursor.elements()) {
				Cursor drop = new Cursor(action);
				if (drop.accept("drop") && !drop.word("constraint")) {
					drop.accept("column");
					drop.accept("if", "exists");
					boolean cascade = action.stream()
						.anyMatch((token) -> token.type() == SqlToken.Type.WORD && token.value().equals("cascade"));
					if (drop.position < action.size() && action.get(drop.position).isName()) {
						(cascade ? this.droppedWithCascade : this.droppedColumns).add(new DroppedColumn(table.sql(),
								action.get(drop.position).value(), action.get(drop.position).sql(), script));
					}
					continue;
				}
				Cursor add = new Cursor(action);
				if (!add.accept("add") || add.word("constraint") || add.word("primary") || add.word("unique")
						|| add.word("check") || add.word("foreign") || add.word("exclude")) {
					continue;
				}
				add.accept("column");
				add.accept("if", "not", "exists");
				if (add.position < action.size() && action.get(add.position).isName()) {
					this.addedColumns.add(new AddedColumn(table.key(), action.get(add.position).value(),
							type(action, add.position + 1), script));
				}
			}
		}
	}

	private static boolean isConstraint(SqlToken token) {
		return token.type() == SqlToken.Type.WORD
				&& Set.of("constraint", "primary", "unique", "check", "foreign", "exclude", "like")
					.contains(token.value());
	}

	// The column's type as written, or null if it cannot be read safely.
	private static @Nullable String type(List<SqlToken> tokens, int start) {
		StringBuilder type = new StringBuilder();
		for (int i = start; i < tokens.size(); i++) {
			SqlToken token = tokens.get(i);
			if (token.type() == SqlToken.Type.WORD && COLUMN_END_WORDS.contains(token.value())) {
				break;
			}
			boolean safe = token.type() == SqlToken.Type.WORD || token.type() == SqlToken.Type.QUOTED
					|| token.type() == SqlToken.Type.NUMBER
					|| (token.type() == SqlToken.Type.SYMBOL && "(),.[]".contains(token.value()));
			if (!safe) {
				return null;
			}
			type.append((type.length() > 0) ? " " : "").append(token.sql());
		}
		return (type.length() > 0) ? type.toString() : null;
	}

	/**
	 * A column a script drops.
	 *
	 * @param table the table's name as the script writes it, as SQL
	 * @param column the column's name, as the catalog stores it
	 * @param columnSql the column's name as SQL
	 * @param script the script's file name
	 */
	public record DroppedColumn(String table, String column, String columnSql, String script) {
	}

	/**
	 * An object a script creates.
	 *
	 * @param kind for example {@code table} or {@code index}
	 * @param name its name, without schema
	 * @param script the script's file name
	 */
	public record CreatedObject(String kind, String name, String script) {

	}

	/**
	 * A column a script adds to a table.
	 *
	 * @param table the table's name, without schema
	 * @param column the column's name
	 * @param type the column's type as written, or {@code null} if it cannot be read
	 * @param script the script's file name
	 */
	public record AddedColumn(String table, String column, @Nullable String type, String script) {

	}

	private static final class Cursor {

		private final List<SqlToken> tokens;

		private int position;

		private Cursor(List<SqlToken> tokens) {
			this.tokens = tokens;
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

		// The comma-separated elements from here to the closing parenthesis or the end.
		private List<List<SqlToken>> elements() {
			return SqlToken.splitAtTopLevelCommas(this.tokens, this.position);
		}

	}

}
