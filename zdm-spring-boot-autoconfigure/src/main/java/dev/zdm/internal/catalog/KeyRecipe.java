package dev.zdm.internal.catalog;

import java.util.List;
import java.util.Map;

import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;

/**
 * The statements that give a table without a usable key a primary key while it serves
 * traffic: a {@code bigint} column with a sequence default for new rows (neither rewrites
 * the table), the existing rows numbered in short batches, then a unique index built
 * concurrently, {@code NOT NULL} proven by a validated check, and the index made the
 * primary key. No statement holds a lock that blocks writes for longer than a catalog
 * change. The backfill walks a key; rather than walk a table by physical position, whose
 * rows move on every update, zdm refuses such a table with this recipe.
 */
public final class KeyRecipe {

	/** Rows each numbering batch updates. */
	static final int BATCH = 10_000;

	private final String table;

	private final String column;

	private final String sequence;

	private final String index;

	private final String missing;

	private final String check;

	private KeyRecipe(TableName table, String column) {
		String name = table.table().name();
		this.table = table.quoted();
		this.column = new SqlIdentifier(column).quoted();
		this.sequence = qualified(table, name + "_" + column + "_seq");
		this.index = identifier(name + "_pkey").quoted();
		this.missing = identifier(name + "_" + column + "_missing").quoted();
		this.check = identifier(name + "_" + column + "_not_null").quoted();
	}

	/**
	 * Return the recipe for a table, with a key column named {@code id} unless the table
	 * has one, then {@code row_id} or {@code zdm_row_id}.
	 * @param table the table, qualified with its schema
	 * @param columns its columns
	 * @return the recipe
	 */
	public static KeyRecipe of(TableName table, Map<String, String> columns) {
		String column = List.of("id", "row_id", "zdm_row_id")
			.stream()
			.filter((name) -> !columns.containsKey(name))
			.findFirst()
			.orElse("zdm_row_id_" + columns.size());
		return new KeyRecipe(table, column);
	}

	/**
	 * The statements that add the column, each run on its own (not in one transaction).
	 * @return the statements
	 */
	public List<String> addColumn() {
		return List.of("CREATE SEQUENCE " + this.sequence,
				"ALTER TABLE " + this.table + " ADD COLUMN " + this.column + " bigint",
				"ALTER TABLE " + this.table + " ALTER COLUMN " + this.column + " SET DEFAULT nextval('" + this.sequence
						+ "')",
				"ALTER SEQUENCE " + this.sequence + " OWNED BY " + this.table + "." + this.column,
				"CREATE INDEX CONCURRENTLY " + this.missing + " ON " + this.table + " (" + this.column + ") WHERE "
						+ this.column + " IS NULL");
	}

	/**
	 * The statement that numbers a batch of existing rows, repeated (each in its own
	 * transaction) until it updates none.
	 * @return the statement
	 */
	public String numberBatch() {
		return "UPDATE " + this.table + " SET " + this.column + " = nextval('" + this.sequence
				+ "') WHERE ctid IN (SELECT ctid FROM " + this.table + " WHERE " + this.column + " IS NULL LIMIT "
				+ BATCH + ")";
	}

	/**
	 * The statements that make the numbered column the primary key, each run on its own.
	 * @return the statements
	 */
	public List<String> makePrimaryKey() {
		return List.of("DROP INDEX CONCURRENTLY " + this.missing,
				"CREATE UNIQUE INDEX CONCURRENTLY " + this.index + " ON " + this.table + " (" + this.column + ")",
				"ALTER TABLE " + this.table + " ADD CONSTRAINT " + this.check + " CHECK (" + this.column
						+ " IS NOT NULL) NOT VALID",
				"ALTER TABLE " + this.table + " VALIDATE CONSTRAINT " + this.check,
				"ALTER TABLE " + this.table + " ALTER COLUMN " + this.column + " SET NOT NULL",
				"ALTER TABLE " + this.table + " DROP CONSTRAINT " + this.check, "ALTER TABLE " + this.table
						+ " ADD CONSTRAINT " + this.index + " PRIMARY KEY USING INDEX " + this.index);
	}

	/**
	 * The recipe as text, to put in a refusal or a runbook.
	 * @return the statements with what to do between them
	 */
	public String describe() {
		return String.join(";\n", addColumn()) + ";\n-- then, each in its own transaction, until it updates 0 rows:\n"
				+ numberBatch() + ";\n" + String.join(";\n", makePrimaryKey()) + ";";
	}

	/** A name of the recipe's, cut to PostgreSQL's 63 characters as it would cut it. */
	private static SqlIdentifier identifier(String name) {
		return new SqlIdentifier((name.length() > 63) ? name.substring(0, 63) : name);
	}

	private static String qualified(TableName table, String name) {
		SqlIdentifier identifier = identifier(name);
		return (table.schema() != null) ? table.schema().quoted() + "." + identifier.quoted() : identifier.quoted();
	}

}
