package dev.zdm.internal.ddl;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * What each phase of a migration will do, computed by the {@link MigrationPlanner}
 * without writing anything: every statement per phase in the order it runs, with its
 * lock, whether it scans or rewrites its table under that lock and that table's estimated
 * size, the backfill's estimated time, and the findings of the unsafe-statement check.
 * {@link #render()} is the one text form, shown by the endpoint, the test kit and the
 * build alike.
 *
 * @param migrationId the migration
 * @param table the migration's table
 * @param targetTable the table a cross-table migration moves data into, or {@code null}
 * @param requestedPhase the phase this instance requests
 * @param contracted whether the contract has run (the plan then shows what ran)
 * @param computedAt when the plan was computed
 * @param tables the estimated rows and size of each existing table a statement locks
 * @param phases the phases, in order, each with its statements
 * @param backfill the backfill's estimate, or {@code null} if the migration has none
 * @param findings the unsafe-statement check's findings, allowed ones included
 */
public record MigrationPlan(String migrationId, String table, @Nullable String targetTable, String requestedPhase,
		boolean contracted, Instant computedAt, List<TableSize> tables, List<PhasePlan> phases,
		@Nullable BackfillEstimate backfill, List<Finding> findings) {

	/**
	 * Create a plan.
	 * @param migrationId the migration
	 * @param table the migration's table
	 * @param targetTable the target table, or {@code null}
	 * @param requestedPhase the phase this instance requests
	 * @param contracted whether the contract has run
	 * @param computedAt when the plan was computed
	 * @param tables the tables' sizes
	 * @param phases the phases
	 * @param backfill the backfill's estimate, or {@code null}
	 * @param findings the findings
	 */
	public MigrationPlan {
		tables = List.copyOf(tables);
		phases = List.copyOf(phases);
		findings = List.copyOf(findings);
	}

	/**
	 * Return every statement of every phase, in the order they run.
	 * @return the statements
	 */
	public List<Statement> allStatements() {
		return this.phases.stream().flatMap((phase) -> phase.statements().stream()).toList();
	}

	/**
	 * Render the plan as text, the same wherever it is shown.
	 * @return the plan as text, lines ending with a line feed
	 */
	public String render() {
		StringBuilder text = new StringBuilder();
		text.append("zdm plan of migration '")
			.append(this.migrationId)
			.append("' on ")
			.append(this.table)
			.append((this.targetTable != null) ? " (into " + this.targetTable + ")" : "")
			.append(", requested phase ")
			.append(this.requestedPhase)
			.append(this.contracted ? ", contracted" : "")
			.append('\n');
		text.append("Computed at ")
			.append(this.computedAt)
			.append(" in a read-only transaction: nothing was written. Sizes and times are estimates.\n");
		if (!this.tables.isEmpty()) {
			text.append("\nTables\n");
			for (TableSize size : this.tables) {
				text.append("  ").append(size.describe()).append('\n');
			}
		}
		for (PhasePlan phase : this.phases) {
			text.append("\nPhase ").append(phase.phase()).append(": ").append(phase.summary()).append('\n');
			for (Statement statement : phase.statements()) {
				text.append("  ")
					.append(statement.position())
					.append(". [")
					.append(statement.status())
					.append("] ")
					.append(statement.source())
					.append(" #")
					.append(statement.index())
					.append(": ")
					.append(abbreviated(statement.sql()))
					.append('\n');
				text.append("     lock: ").append(statement.describeLock()).append('\n');
				for (String finding : statement.findings()) {
					text.append("     unsafe: ").append(finding).append('\n');
				}
			}
		}
		text.append("\nUnsafe-statement check: ");
		if (this.findings.isEmpty()) {
			text.append("no unsafe statement\n");
		}
		else {
			text.append(this.findings.size()).append(this.findings.size() == 1 ? " finding\n" : " findings\n");
			for (Finding finding : this.findings) {
				text.append("  - ").append(finding.describe()).append('\n');
			}
		}
		return text.toString();
	}

	static String abbreviated(String sql) {
		String oneLine = sql.replaceAll("\\s+", " ").trim();
		return (oneLine.length() <= 160) ? oneLine : oneLine.substring(0, 157) + "...";
	}

	static String formatRows(long rows) {
		return String.format(Locale.ROOT, "%,d", rows);
	}

	/**
	 * Return a size in bytes in words, such as {@code 4.0 MB} or {@code 96 MB}.
	 * @param bytes the size
	 * @return the size in words
	 */
	public static String formatBytes(long bytes) {
		if (bytes < 1024) {
			return bytes + " bytes";
		}
		String[] units = { "kB", "MB", "GB", "TB" };
		double value = bytes;
		int unit = -1;
		while (value >= 1024 && unit < units.length - 1) {
			value /= 1024;
			unit++;
		}
		return String.format(Locale.ROOT, (value < 10) ? "%.1f %s" : "%.0f %s", value, units[unit]);
	}

	static String formatDuration(Duration duration) {
		long seconds = duration.toSeconds();
		if (seconds < 1) {
			return "under a second";
		}
		if (seconds < 120) {
			return seconds + " s";
		}
		if (seconds < 2 * 3600) {
			return (seconds + 30) / 60 + " min";
		}
		return String.format(Locale.ROOT, "%.1f h", seconds / 3600.0);
	}

	/**
	 * A table's estimated rows and size.
	 *
	 * @param table the table, as PostgreSQL names it
	 * @param rows the estimated rows
	 * @param rowsFrom where the estimate comes from: {@code pg_class.reltuples}, or
	 * {@code pg_stat_all_tables.n_live_tup} for a table never analyzed
	 * @param bytes its size with indexes and TOAST ({@code pg_total_relation_size})
	 */
	public record TableSize(String table, long rows, String rowsFrom, long bytes) {

		/**
		 * Describe the size in one line.
		 * @return the description
		 */
		public String describe() {
			return this.table + ": about " + formatRows(this.rows) + " rows (" + this.rowsFrom + "), "
					+ formatBytes(this.bytes) + " (pg_total_relation_size)";
		}

	}

	/**
	 * One phase.
	 *
	 * @param phase the phase, for example {@code expand}
	 * @param summary what zdm does in it, in a sentence or two
	 * @param statements the DDL statements it runs, in order
	 */
	public record PhasePlan(String phase, String summary, List<Statement> statements) {

		/**
		 * Create a phase.
		 * @param phase the phase
		 * @param summary what zdm does in it
		 * @param statements its statements
		 */
		public PhasePlan {
			statements = List.copyOf(statements);
		}

	}

	/**
	 * One statement, as it will run (or ran).
	 *
	 * @param position its position in its phase, from 1
	 * @param step the DDL step it belongs to: {@code expand} or {@code contract}
	 * @param source the script's file name, or {@code contributor:<class>} for zdm's own
	 * statements (the sync trigger, the declared changes) and other contributors', as the
	 * DDL history records it
	 * @param index its position in its source, from 1, as the DDL history records it
	 * @param sql the statement
	 * @param status {@code to run}, or {@code applied} if the DDL history records it
	 * applied as it reads now
	 * @param lock the table lock level, for example {@code ACCESS EXCLUSIVE}, or
	 * {@code none}
	 * @param table the table it locks, as written, or {@code null}
	 * @param work {@code none}, {@code scan} or {@code rewrite}: what it does to that
	 * table while it holds the lock
	 * @param blocks what the lock keeps the application from doing on the table
	 * @param alsoLocks another table it locks ({@code SHARE ROW EXCLUSIVE}), such as one
	 * a foreign key references, or {@code null}
	 * @param note what it does, in a few words
	 * @param tableRows the estimated rows of the table it locks, or {@code null} if the
	 * table does not exist yet
	 * @param tableBytes the size of that table, or {@code null}
	 * @param findings what the unsafe-statement check found in it, each described
	 */
	public record Statement(int position, String step, String source, int index, String sql, String status, String lock,
			@Nullable String table, String work, String blocks, @Nullable String alsoLocks, String note,
			@Nullable Long tableRows, @Nullable Long tableBytes, List<String> findings) {

		/**
		 * Create a statement.
		 * @param position its position in its phase
		 * @param step its step
		 * @param source its source
		 * @param index its index in its source
		 * @param sql the statement
		 * @param status its status
		 * @param lock its lock level
		 * @param table the table it locks
		 * @param work what it does to the table
		 * @param blocks what the lock blocks
		 * @param alsoLocks another table it locks
		 * @param note what it does
		 * @param tableRows the table's estimated rows
		 * @param tableBytes the table's size
		 * @param findings the findings
		 */
		public Statement {
			findings = List.copyOf(findings);
		}

		/**
		 * Describe the statement's lock in one line.
		 * @return the description
		 */
		public String describeLock() {
			StringBuilder description = new StringBuilder();
			if ("none".equals(this.lock)) {
				return description.append("none on an existing table: ").append(this.note).toString();
			}
			if ("unknown".equals(this.lock)) {
				return description.append("unknown: ").append(this.note).toString();
			}
			description.append(this.lock);
			if (this.table != null) {
				description.append(" on ").append(this.table);
				if (this.tableRows != null && this.tableBytes != null) {
					description.append(" (about ")
						.append(formatRows(this.tableRows))
						.append(" rows, ")
						.append(formatBytes(this.tableBytes))
						.append(")");
				}
			}
			description.append(", blocks ").append(this.blocks);
			if (this.alsoLocks != null) {
				description.append("; SHARE ROW EXCLUSIVE on ").append(this.alsoLocks).append(", blocks writes");
			}
			description.append("; ").append(switch (this.work) {
				case "scan" -> "scans the table under the lock";
				case "rewrite" -> "REWRITES the table under the lock";
				default -> "brief: no scan, no rewrite";
			}).append(" (").append(this.note).append(")");
			return description.toString();
		}

	}

	/**
	 * The backfill's estimate.
	 *
	 * @param rows the rows it walks: the estimated rows of the migration's table
	 * @param rowsPerSecond the rate the estimate assumes, or {@code null} if none can be
	 * given
	 * @param time the estimated time of the copy at that rate, or {@code null}
	 * @param how how the estimate was made
	 */
	public record BackfillEstimate(long rows, @Nullable Double rowsPerSecond, @Nullable Duration time, String how) {

		/**
		 * Describe the estimate in one line.
		 * @return the description
		 */
		public String describe() {
			String rate = (this.rowsPerSecond != null)
					? String.format(Locale.ROOT, " at %,.0f rows/s", this.rowsPerSecond) : "";
			String estimate = (this.time != null) ? "estimated time " + formatDuration(this.time) + rate
					: "no time estimate";
			return "walks about " + formatRows(this.rows) + " rows; " + estimate + " (estimate: " + this.how + ")";
		}

	}

	/**
	 * What the unsafe-statement check found in a statement.
	 *
	 * @param step the statement's step
	 * @param source the statement's source
	 * @param index the statement's index in its source
	 * @param code the unsafe operation's code, as {@code -- zdm:allow} takes it
	 * @param description what is unsafe, and why
	 * @param verdict what start-up does about it: {@code refused at start-up},
	 * {@code allowed by ...}, {@code applied already} or, for a statement zdm or a
	 * contributor generates, {@code generated: not checked at start-up}
	 */
	public record Finding(String step, String source, int index, String code, String description, String verdict) {

		/**
		 * Describe the finding in one line.
		 * @return the description
		 */
		public String describe() {
			return this.step + " " + this.source + " #" + this.index + " (" + this.code + ", " + this.verdict + "): "
					+ this.description;
		}

	}

}
