package dev.zdm.internal.ddl.script;

import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import dev.zdm.ddl.UnsafeOperation;
import dev.zdm.internal.ddl.script.StatementLock.Level;
import dev.zdm.internal.ddl.script.StatementLock.Work;

/**
 * The lock one action of an {@code ALTER TABLE} takes and what it does under it, for
 * {@link StatementLock}: the statement takes the strongest of its actions' locks.
 */
final class AlterTableActionLock {

	private final List<SqlToken> tokens;

	private final Set<UnsafeOperation> unsafe;

	private Level level = Level.ACCESS_EXCLUSIVE;

	private Work work = Work.NONE;

	private @Nullable String references;

	private String note = "changes the table's definition";

	private AlterTableActionLock(List<SqlToken> tokens, Set<UnsafeOperation> unsafe) {
		this.tokens = tokens;
		this.unsafe = unsafe;
	}

	/**
	 * Read one action.
	 * @param tokens the action's tokens, from its first word to the comma or end that
	 * closes it
	 * @param unsafe the operations the unsafe-statement check found in the statement
	 * @return the action's lock
	 */
	static AlterTableActionLock read(List<SqlToken> tokens, Set<UnsafeOperation> unsafe) {
		AlterTableActionLock action = new AlterTableActionLock(tokens, unsafe);
		action.read();
		return action;
	}

	Level level() {
		return this.level;
	}

	Work work() {
		return this.work;
	}

	@Nullable String references() {
		return this.references;
	}

	String note() {
		return this.note;
	}

	private void read() {
		if (starts("add")) {
			add();
		}
		else if (starts("validate", "constraint")) {
			this.level = Level.SHARE_UPDATE_EXCLUSIVE;
			this.work = Work.SCAN;
			this.note = "checks every row while reads and writes go on";
		}
		else if (starts("drop", "constraint")) {
			this.note = "drops a constraint";
		}
		else if (starts("drop")) {
			this.note = "drops a column (the catalog only: the data stays until rows are rewritten)";
		}
		else if (starts("alter")) {
			alterColumn();
		}
		else if (starts("rename")) {
			this.note = "renames";
		}
		else if (starts("enable") || starts("disable")) {
			this.level = Level.SHARE_ROW_EXCLUSIVE;
			this.note = "enables or disables a trigger";
		}
		else if (starts("set", "(") || starts("reset", "(")) {
			this.level = Level.SHARE_UPDATE_EXCLUSIVE;
			this.note = "changes storage parameters";
		}
		else if (this.unsafe.contains(UnsafeOperation.TABLE_REWRITE) && (starts("set", "tablespace")
				|| starts("set", "logged") || starts("set", "unlogged") || starts("set", "access", "method"))) {
			this.work = Work.REWRITE;
			this.note = "writes the table anew";
		}
		else if (starts("attach", "partition")) {
			attachPartition();
		}
		else if (starts("detach", "partition")) {
			boolean concurrently = has("concurrently") || has("finalize");
			this.level = concurrently ? Level.SHARE_UPDATE_EXCLUSIVE : Level.ACCESS_EXCLUSIVE;
			this.note = concurrently ? "detaches a partition while reads and writes go on"
					: "detaches a partition while reads and writes of every partition wait";
		}
	}

	private void add() {
		boolean constraint = starts("add", "constraint") || starts("add", "foreign") || starts("add", "check")
				|| starts("add", "unique") || starts("add", "primary") || starts("add", "exclude");
		boolean notValid = endsWith("not", "valid");
		if (constraint && has("foreign")) {
			this.level = Level.SHARE_ROW_EXCLUSIVE;
			this.references = referenced();
			this.work = notValid ? Work.NONE : Work.SCAN;
			this.note = notValid ? "adds a foreign key, not validated: checks new rows only"
					: "adds a foreign key and checks every row while writes wait";
		}
		else if (constraint && has("check")) {
			this.work = notValid ? Work.NONE : Work.SCAN;
			this.note = notValid ? "adds a check, not validated: checks new rows only"
					: "adds a check and checks every row while reads and writes wait";
		}
		else if (constraint) {
			boolean usingIndex = hasAfter("using", "index");
			boolean setsNotNull = usingIndex && this.unsafe.contains(UnsafeOperation.SET_NOT_NULL);
			this.work = (usingIndex && !setsNotNull) ? Work.NONE : Work.SCAN;
			this.note = setsNotNull
					? "turns a built index into a primary key, checking every row for NULL while "
							+ "reads and writes wait"
					: (usingIndex ? "turns a built index into a constraint" : buildsIndex());
		}
		else {
			if (this.unsafe.contains(UnsafeOperation.ADD_COLUMN_VOLATILE_DEFAULT)) {
				this.work = Work.REWRITE;
				this.note = "adds a column whose default is computed for every row";
			}
			else if (this.unsafe.contains(UnsafeOperation.ADD_COLUMN_NOT_NULL)
					|| this.unsafe.contains(UnsafeOperation.ADD_UNIQUE_CONSTRAINT)) {
				this.work = Work.SCAN;
				this.note = "adds a column that every row is checked against";
			}
			else {
				this.note = "adds a column (the catalog only)";
			}
			if (has("references")) {
				this.references = referenced();
			}
		}
	}

	// The partitioned table takes SHARE UPDATE EXCLUSIVE, the attached table ACCESS
	// EXCLUSIVE; whether the scan of the latter is skipped only PostgreSQL's planner
	// knows.
	private void attachPartition() {
		this.level = Level.SHARE_UPDATE_EXCLUSIVE;
		SqlName attached = SqlName.read(this.tokens, 2, (end) -> {
		});
		this.references = (attached != null) ? attached.sql() : null;
		boolean scans = this.unsafe.contains(UnsafeOperation.ATTACH_PARTITION_SCAN);
		this.work = scans ? Work.SCAN : Work.NONE;
		this.note = scans
				? "attaches a partition, locking it ACCESS EXCLUSIVE while it scans it for rows outside the bound, "
						+ "unless a validated check implies the bound; reads and writes of the other partitions go on"
				: "attaches a table the scripts create, locking it ACCESS EXCLUSIVE; reads and writes of the other "
						+ "partitions go on";
	}

	// A partitioned table takes no constraint USING INDEX; the statement alone does not
	// tell whether its partitions already have the matching constraints it takes over.
	private String buildsIndex() {
		String builds = "builds the constraint's index while reads and writes wait";
		if (has("exclude")) {
			return builds;
		}
		return builds + "; on a partitioned table it builds no index when each partition already has a "
				+ "matching unique constraint (it takes them over)";
	}

	private void alterColumn() {
		if (has("type")) {
			boolean rewrites = this.unsafe.contains(UnsafeOperation.ALTER_COLUMN_TYPE);
			this.work = rewrites ? Work.REWRITE : Work.NONE;
			this.note = rewrites ? "changes a column's type, rewriting every row"
					: "changes a column's type to a binary compatible one";
		}
		else if (has("set") && has("not") && has("null")) {
			boolean scans = this.unsafe.contains(UnsafeOperation.SET_NOT_NULL);
			this.work = scans ? Work.SCAN : Work.NONE;
			this.note = scans ? "sets NOT NULL, checking every row while reads and writes wait"
					: "sets NOT NULL, proven by a validated check: no scan";
		}
		else if (has("set") && has("expression")) {
			this.work = Work.REWRITE;
			this.note = "changes a generated column's expression, rewriting every row";
		}
		else if (has("drop") && has("not")) {
			this.note = "drops NOT NULL";
		}
		else if (has("default")) {
			this.note = "changes a column's default for new rows";
		}
		else if (has("statistics")) {
			this.level = Level.SHARE_UPDATE_EXCLUSIVE;
			this.note = "changes a column's statistics target";
		}
	}

	private @Nullable String referenced() {
		for (int i = 0; i < this.tokens.size(); i++) {
			if (this.tokens.get(i).isWord("references")) {
				SqlName name = SqlName.read(this.tokens, i + 1, (end) -> {
				});
				return (name != null) ? name.sql() : null;
			}
		}
		return null;
	}

	private boolean starts(String... words) {
		return SqlToken.matchAt(this.tokens, 0, words);
	}

	private boolean has(String word) {
		return this.tokens.stream().anyMatch((token) -> token.isWord(word));
	}

	private boolean hasAfter(String first, String second) {
		return SqlToken.containsWords(this.tokens, 0, first, second);
	}

	private boolean endsWith(String... words) {
		int start = this.tokens.size() - words.length;
		return start >= 0 && SqlToken.matchAt(this.tokens, start, words);
	}

}
