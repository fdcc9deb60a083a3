package dev.zdm.internal.ddl.script;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import dev.zdm.ddl.UnsafeOperation;

/**
 * The table lock a DDL statement takes on PostgreSQL, and what it does to the table while
 * it holds it, as its text and the unsafe-statement check show: read from the statement's
 * tokens without the database. The levels are those of PostgreSQL's documentation
 * ("Explicit Locking"): the strongest a statement takes on the table it changes.
 *
 * @param level the lock on {@code table}
 * @param table the table (or, for {@code DROP INDEX}, the index, and for
 * {@code ALTER INDEX ... ATTACH PARTITION}, the partition's index) as written in the
 * statement, or {@code null} if it takes no table lock or its table is not known from the
 * text
 * @param work whether it scans or rewrites that table (for {@code ATTACH PARTITION}, the
 * attached one) while it holds the lock
 * @param also another relation it locks, such as the table a foreign key references (with
 * {@code SHARE ROW EXCLUSIVE}), the table {@code ATTACH PARTITION} attaches (with
 * {@code ACCESS EXCLUSIVE}) or the partitioned index an index is attached to, or
 * {@code null}
 * @param note what the statement does under the lock, in a few words
 */
public record StatementLock(Level level, @Nullable String table, Work work, @Nullable String also, String note) {

	/**
	 * Return the lock of a statement.
	 * @param statement the statement
	 * @param unsafe the operations the unsafe-statement check found in it, allowed or
	 * not: they tell whether an {@code ADD COLUMN}, {@code ALTER COLUMN ... TYPE} or
	 * {@code SET NOT NULL} scans or rewrites an existing table
	 * @return the lock
	 */
	public static StatementLock of(DdlStatement statement, Set<UnsafeOperation> unsafe) {
		return new Reader(statement.tokens(), unsafe).read();
	}

	/**
	 * A table lock level, weakest first.
	 */
	public enum Level {

		/** No lock on an existing table. */
		NONE("none", "nothing"),

		/** Taken by {@code INSERT}, {@code UPDATE}, {@code DELETE}. */
		ROW_EXCLUSIVE("ROW EXCLUSIVE", "no reads or writes (only DDL)"),

		/**
		 * Taken by {@code CREATE INDEX CONCURRENTLY}, {@code VALIDATE CONSTRAINT},
		 * {@code VACUUM}.
		 */
		SHARE_UPDATE_EXCLUSIVE("SHARE UPDATE EXCLUSIVE", "no reads or writes (only other DDL and VACUUM)"),

		/** Taken by {@code CREATE INDEX}. */
		SHARE("SHARE", "writes"),

		/** Taken by {@code CREATE TRIGGER} and foreign keys. */
		SHARE_ROW_EXCLUSIVE("SHARE ROW EXCLUSIVE", "writes"),

		/** Taken by most forms of {@code ALTER TABLE}, {@code DROP}. */
		ACCESS_EXCLUSIVE("ACCESS EXCLUSIVE", "reads and writes"),

		/** Not known from the statement's text, as for a {@code DO} block. */
		UNKNOWN("unknown", "possibly reads and writes");

		private final String value;

		private final String blocks;

		Level(String value, String blocks) {
			this.value = value;
			this.blocks = blocks;
		}

		/**
		 * Return the level as PostgreSQL names it, for example {@code ACCESS EXCLUSIVE}.
		 * @return the name
		 */
		public String value() {
			return this.value;
		}

		/**
		 * Return what the application cannot do on the table while the lock is held.
		 * @return for example {@code reads and writes}
		 */
		public String blocks() {
			return this.blocks;
		}

		static Level parse(List<SqlToken> words) {
			String mode = String.join(" ", words.stream().map(SqlToken::value).toList()).toUpperCase(Locale.ROOT);
			for (Level level : values()) {
				if (level.value.equals(mode)) {
					return level;
				}
			}
			return switch (mode) {
				case "ACCESS SHARE", "ROW SHARE" -> ROW_EXCLUSIVE;
				case "EXCLUSIVE" -> SHARE_ROW_EXCLUSIVE;
				default -> UNKNOWN;
			};
		}

		@Override
		public String toString() {
			return this.value;
		}

	}

	/**
	 * What a statement does to the table while it holds its lock.
	 */
	public enum Work {

		/** Changes the catalog only: holds its lock for a moment. */
		NONE("brief, no scan, no rewrite"),

		/** Reads every row (to validate, or to build an index). */
		SCAN("scans the table"),

		/** Writes the whole table (and its indexes) anew. */
		REWRITE("rewrites the table");

		private final String description;

		Work(String description) {
			this.description = description;
		}

		/**
		 * Describe the work, for example {@code scans the table}.
		 * @return the description
		 */
		public String describe() {
			return this.description;
		}

		Work max(Work other) {
			return (other.ordinal() > ordinal()) ? other : this;
		}

	}

	/**
	 * Reads a statement's tokens into its lock.
	 */
	private static final class Reader {

		private final List<SqlToken> tokens;

		private final Set<UnsafeOperation> unsafe;

		private int position;

		private Reader(List<SqlToken> tokens, Set<UnsafeOperation> unsafe) {
			this.tokens = tokens;
			this.unsafe = unsafe;
		}

		private StatementLock read() {
			if (accept("create")) {
				accept("or", "replace");
				return create();
			}
			if (accept("alter", "table")) {
				return alterTable();
			}
			if (accept("drop")) {
				return drop();
			}
			if (accept("vacuum")) {
				SqlName table = lastName();
				return contains("full")
						? lock(Level.ACCESS_EXCLUSIVE, table, Work.REWRITE,
								"VACUUM FULL writes a new copy of the table")
						: lock(Level.SHARE_UPDATE_EXCLUSIVE, table, Work.SCAN, "VACUUM reads the table");
			}
			if (accept("cluster")) {
				accept("verbose");
				return lock(Level.ACCESS_EXCLUSIVE, name(), Work.REWRITE, "CLUSTER writes a new copy of the table");
			}
			if (accept("reindex")) {
				return reindex();
			}
			if (accept("alter", "index")) {
				return alterIndex();
			}
			if (accept("lock")) {
				accept("table");
				accept("only");
				SqlName table = name();
				int in = indexOf("in");
				int modeEnd = indexOf("mode");
				Level level = (in >= 0 && modeEnd > in) ? Level.parse(this.tokens.subList(in + 1, modeEnd))
						: Level.ACCESS_EXCLUSIVE;
				return lock(level, table, Work.NONE, "held until the statement's transaction ends");
			}
			if (accept("insert", "into")) {
				return lock(Level.ROW_EXCLUSIVE, name(), Work.NONE, "inserts rows");
			}
			if (accept("update")) {
				accept("only");
				return lock(Level.ROW_EXCLUSIVE, name(), Work.SCAN, "updates the rows it matches, locking each");
			}
			if (accept("delete", "from")) {
				accept("only");
				return lock(Level.ROW_EXCLUSIVE, name(), Work.SCAN, "deletes the rows it matches, locking each");
			}
			if (accept("truncate")) {
				accept("table");
				accept("only");
				return lock(Level.ACCESS_EXCLUSIVE, name(), Work.NONE, "empties the table");
			}
			if (accept("refresh", "materialized", "view")) {
				boolean concurrently = accept("concurrently");
				return concurrently
						? lock(Level.SHARE_ROW_EXCLUSIVE, name(), Work.SCAN,
								"runs the view's query and applies the differences while reads go on")
						: lock(Level.ACCESS_EXCLUSIVE, name(), Work.REWRITE,
								"runs the view's query and replaces its rows while reads wait");
			}
			if (accept("comment", "on")) {
				return new StatementLock(Level.NONE, null, Work.NONE, null, "changes a comment in the catalog");
			}
			if (word("grant") || word("revoke")) {
				return new StatementLock(Level.NONE, null, Work.NONE, null, "changes privileges in the catalog");
			}
			return new StatementLock(Level.UNKNOWN, null, Work.NONE, null,
					"zdm cannot tell what it locks; check it by hand");
		}

		private StatementLock create() {
			accept("unique");
			if (accept("index")) {
				boolean concurrently = accept("concurrently");
				SqlName table = tableAfter("on");
				if (concurrently) {
					return lock(Level.SHARE_UPDATE_EXCLUSIVE, table, Work.SCAN,
							"builds the index in two scans while reads and writes go on, after waiting for the "
									+ "transactions that started before it");
				}
				boolean builds = this.unsafe.contains(UnsafeOperation.CREATE_INDEX);
				if (!builds && SqlToken.isWordAt(this.tokens, indexOf("on") + 1, "only")) {
					return lock(Level.SHARE, table, Work.NONE,
							"creates the partitioned table's own index, invalid until each partition's index is "
									+ "attached to it: builds nothing");
				}
				return lock(Level.SHARE, table, builds ? Work.SCAN : Work.NONE, "builds the index while writes wait");
			}
			if (accept("table") || accept("unlogged", "table") || accept("temporary", "table")
					|| accept("temp", "table")) {
				accept("if", "not", "exists");
				SqlName created = name();
				String what = "creates table " + ((created != null) ? created.sql() : "?") + " (new, empty)";
				SqlName referenced = tableAfter("references");
				if (referenced != null) {
					return new StatementLock(Level.SHARE_ROW_EXCLUSIVE, referenced.sql(), Work.NONE, null,
							what + "; its foreign key locks the table it references");
				}
				return new StatementLock(Level.NONE, null, Work.NONE, null, what);
			}
			if (accept("trigger") || accept("constraint", "trigger")) {
				return lock(Level.SHARE_ROW_EXCLUSIVE, tableAfter("on"), Work.NONE, "adds a trigger");
			}
			return new StatementLock(Level.NONE, null, Work.NONE, null, "creates "
					+ (this.position < this.tokens.size() ? this.tokens.get(this.position).value() : "an object")
					+ ", no table lock");
		}

		private StatementLock drop() {
			if (accept("table")) {
				accept("if", "exists");
				return lock(Level.ACCESS_EXCLUSIVE, name(), Work.NONE, "drops the table");
			}
			if (accept("index")) {
				boolean concurrently = accept("concurrently");
				accept("if", "exists");
				SqlName index = name();
				return concurrently
						? lock(Level.SHARE_UPDATE_EXCLUSIVE, index, Work.NONE,
								"drops the index (named) after waiting for the transactions that use it")
						: lock(Level.ACCESS_EXCLUSIVE, index, Work.NONE, "drops the index (named) and locks its table");
			}
			if (accept("trigger")) {
				return lock(Level.ACCESS_EXCLUSIVE, tableAfter("on"), Work.NONE, "drops a trigger");
			}
			return new StatementLock(Level.NONE, null, Work.NONE, null, "drops "
					+ (this.position < this.tokens.size() ? this.tokens.get(this.position).value() : "an object")
					+ ", no table lock");
		}

		private StatementLock reindex() {
			accept("(", "verbose", ")");
			boolean concurrently = false;
			SqlName target = null;
			while (this.position < this.tokens.size()) {
				if (accept("concurrently")) {
					concurrently = true;
				}
				else if (word("table") || word("index") || word("schema") || word("database") || word("system")) {
					this.position++;
				}
				else {
					target = name();
					break;
				}
			}
			return concurrently
					? lock(Level.SHARE_UPDATE_EXCLUSIVE, target, Work.SCAN, "builds the index anew while writes go on")
					: lock(Level.SHARE, target, Work.SCAN, "builds the index anew while writes wait");
		}

		// ALTER INDEX parent ATTACH PARTITION child: PostgreSQL locks the partition's
		// index
		// ACCESS EXCLUSIVE, the partitioned index SHARE UPDATE EXCLUSIVE and both tables
		// ACCESS SHARE, for a catalog change.
		private StatementLock alterIndex() {
			accept("if", "exists");
			SqlName parent = name();
			if (accept("attach", "partition")) {
				SqlName attached = name();
				return new StatementLock(Level.ACCESS_EXCLUSIVE, (attached != null) ? attached.sql() : null, Work.NONE,
						(parent != null) ? parent.sql() : null,
						"attaches a partition's index (named) to the partitioned table's index: a catalog change, "
								+ "brief; queries on that partition wait for the moment, the partitioned index is "
								+ "locked SHARE UPDATE EXCLUSIVE and the tables only ACCESS SHARE");
			}
			return new StatementLock(Level.UNKNOWN, null, Work.NONE, null,
					"zdm cannot tell what it locks; check it by hand");
		}

		private StatementLock alterTable() {
			accept("if", "exists");
			accept("only");
			SqlName table = name();
			accept("*");
			Level level = Level.NONE;
			Work work = Work.NONE;
			String also = null;
			List<String> notes = new ArrayList<>();
			for (List<SqlToken> action : SqlToken.splitAtTopLevelCommas(this.tokens, this.position)) {
				AlterTableActionLock read = AlterTableActionLock.read(action, this.unsafe);
				level = (read.level().ordinal() > level.ordinal()) ? read.level() : level;
				work = work.max(read.work());
				also = (read.references() != null) ? read.references() : also;
				notes.add(read.note());
			}
			if (level == Level.NONE) {
				level = Level.ACCESS_EXCLUSIVE;
			}
			return new StatementLock(level, (table != null) ? table.sql() : null, work, also,
					String.join("; ", notes.stream().distinct().toList()));
		}

		private static StatementLock lock(Level level, @Nullable SqlName table, Work work, String note) {
			return new StatementLock(level, (table != null) ? table.sql() : null, work, null, note);
		}

		private @Nullable SqlName tableAfter(String word) {
			int at = indexOf(word);
			if (at < 0) {
				return null;
			}
			int from = at + 1;
			if (SqlToken.isWordAt(this.tokens, from, "only")) {
				from++;
			}
			return SqlName.read(this.tokens, from, (end) -> {
			});
		}

		private @Nullable SqlName lastName() {
			for (int i = this.tokens.size() - 1; i >= this.position; i--) {
				SqlToken token = this.tokens.get(i);
				if (token.isName() && !token.isWord("full") && !token.isWord("analyze") && !token.isWord("verbose")) {
					int start = (i >= 2 && this.tokens.get(i - 1).isSymbol(".")) ? i - 2 : i;
					return SqlName.read(this.tokens, start, (end) -> {
					});
				}
			}
			return null;
		}

		private @Nullable SqlName name() {
			return SqlName.read(this.tokens, this.position, (end) -> this.position = end);
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

		private boolean contains(String word) {
			return indexOf(word) >= 0;
		}

		private int indexOf(String word) {
			for (int i = this.position; i < this.tokens.size(); i++) {
				if (this.tokens.get(i).isWord(word)) {
					return i;
				}
			}
			return -1;
		}

	}

}
