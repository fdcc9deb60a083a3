package dev.zdm.internal.backfill;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.function.LongSupplier;

import org.jspecify.annotations.Nullable;

/**
 * One walk over a key range by a runner: the copy, or one verification pass. Holds where
 * the walk stands, what it has counted, its rate and ETA, and decides when progress is
 * worth an INFO line: at every tenth of the rows to walk, or every 30 seconds.
 */
public final class BackfillWalk {

	private static final long LOG_INTERVAL_NANOS = Duration.ofSeconds(30).toNanos();

	/**
	 * The time the rate is read over: the last 30 seconds of the run (all of it while it
	 * is younger), so that the rate and the ETA follow the pace the walk keeps now (held
	 * back, backed off for a workload, or at full speed again) rather than its average
	 * since the run started, which a run's fast first batches and a takeover's fresh
	 * start kept high for hours under a workload.
	 */
	static final Duration RATE_WINDOW = Duration.ofSeconds(30);

	/**
	 * How long a run must have walked before it reads a rate, unless it committed
	 * {@link #MIN_RATE_BATCHES} batches sooner: right after a resume the window holds
	 * only the first batch, as fast as a batch before its pause, and read 13963 rows/s
	 * where the pace was 848.
	 */
	static final Duration MIN_RATE_SPAN = Duration.ofSeconds(5);

	/**
	 * How many batches a run must have committed before it reads a rate, unless it walked
	 * for {@link #MIN_RATE_SPAN} sooner.
	 */
	static final int MIN_RATE_BATCHES = 10;

	private final boolean verifying;

	private final int pass;

	private final @Nullable String upperBound;

	private final long rowsBefore;

	private final @Nullable Long rowsExpected;

	private final long disagreeingBefore;

	private final long changedBefore;

	private final LongSupplier clock;

	private final long runStart;

	/**
	 * When the rate started to be read: the run's start, or the end of a wait that says
	 * nothing of the pace to come ({@link #rateAfresh()}).
	 */
	private long rateStart;

	/**
	 * Batches committed since {@link #rateStart}.
	 */
	private int rateBatches;

	/**
	 * The time and the run's rows at each batch within the rate's window, oldest first.
	 */
	private final ArrayDeque<long[]> marks = new ArrayDeque<>();

	/**
	 * The time and the run's rows the rate is read from: the newest batch at or before
	 * the window's start, or the run's start.
	 */
	private long[] rateFrom;

	private @Nullable String lastKey;

	private int batchSize;

	private long runRows;

	private long runChanged;

	private long runDisagreeing;

	private long changedSinceVacuum;

	private long lastLog;

	private long loggedTenths;

	private @Nullable String pacedBy;

	/**
	 * The rows per second ceiling in force ({@code max-rows-per-second}), 0 for none.
	 */
	private long ceiling;

	/**
	 * Time the walk was paced since the last progress line, up to when its pace last
	 * changed.
	 */
	private long pacedNanos;

	private long paceChangedAt;

	/**
	 * What paced the walk last since the last progress line, or {@code null} if nothing.
	 */
	private @Nullable String lastPacedBy;

	/**
	 * Create a walk.
	 * @param pass the verification pass, or 0 for the copy
	 */
	private BackfillWalk(int pass, @Nullable String upperBound, @Nullable String lastKey, long rowsBefore,
			@Nullable Long rowsExpected, long disagreeingBefore, long changedBefore, int batchSize,
			LongSupplier clock) {
		this.clock = clock;
		this.runStart = clock.getAsLong();
		this.rateStart = this.runStart;
		this.rateFrom = new long[] { this.runStart, 0 };
		this.lastLog = this.runStart;
		this.paceChangedAt = this.runStart;
		this.verifying = pass > 0;
		this.pass = pass;
		this.upperBound = upperBound;
		this.lastKey = lastKey;
		this.rowsBefore = rowsBefore;
		this.rowsExpected = rowsExpected;
		this.disagreeingBefore = disagreeingBefore;
		this.changedBefore = changedBefore;
		this.batchSize = batchSize;
		this.loggedTenths = tenths(rowsBefore);
	}

	/**
	 * Return the copy, from its checkpoint or from the start.
	 * @param rowsDone rows walked by earlier runs
	 * @param rowsUpdated rows rewritten by earlier runs, so that the progress line counts
	 * them as the stored progress does
	 */
	static BackfillWalk copy(String upperBound, @Nullable String lastKey, long rowsDone, long rowsUpdated,
			@Nullable Long rowsEstimated, int batchSize) {
		return copy(upperBound, lastKey, rowsDone, rowsUpdated, rowsEstimated, batchSize, System::nanoTime);
	}

	/**
	 * Return the copy, from its checkpoint or from the start, timed by a clock.
	 * @param clock the time in nanoseconds, as {@link System#nanoTime()}
	 */
	static BackfillWalk copy(String upperBound, @Nullable String lastKey, long rowsDone, long rowsUpdated,
			@Nullable Long rowsEstimated, int batchSize, LongSupplier clock) {
		return new BackfillWalk(0, upperBound, lastKey, rowsDone, rowsEstimated, 0, rowsUpdated, batchSize, clock);
	}

	/**
	 * Return a verification pass, from its checkpoint or from the start.
	 * @param pass the pass, from 1
	 */
	static BackfillWalk verification(int pass, @Nullable String upperBound, @Nullable String lastKey, long rowsChecked,
			@Nullable Long rowsToCheck, long rowsDisagreeing, long rowsRepaired, int batchSize) {
		return verification(pass, upperBound, lastKey, rowsChecked, rowsToCheck, rowsDisagreeing, rowsRepaired,
				batchSize, System::nanoTime);
	}

	/**
	 * Return a verification pass, from its checkpoint or from the start, timed by a
	 * clock.
	 * @param clock the time in nanoseconds, as {@link System#nanoTime()}
	 */
	static BackfillWalk verification(int pass, @Nullable String upperBound, @Nullable String lastKey, long rowsChecked,
			@Nullable Long rowsToCheck, long rowsDisagreeing, long rowsRepaired, int batchSize, LongSupplier clock) {
		return new BackfillWalk(pass, upperBound, lastKey, rowsChecked, rowsToCheck, rowsDisagreeing, rowsRepaired,
				batchSize, clock);
	}

	boolean verifying() {
		return this.verifying;
	}

	int pass() {
		return this.pass;
	}

	/** The largest key the walk covers, or {@code null} if there was none. */
	@Nullable String upperBound() {
		return this.upperBound;
	}

	@Nullable String lastKey() {
		return this.lastKey;
	}

	int batchSize() {
		return this.batchSize;
	}

	/**
	 * Return what limits the copy's pace now, in words, or {@code null} if nothing does.
	 */
	@Nullable String pacedBy() {
		return this.pacedBy;
	}

	void pacedBy(@Nullable String pacedBy) {
		long now = this.clock.getAsLong();
		if (this.pacedBy != null) {
			this.pacedNanos += now - this.paceChangedAt;
		}
		this.paceChangedAt = now;
		this.pacedBy = pacedBy;
		if (pacedBy != null) {
			this.lastPacedBy = pacedBy;
		}
	}

	/**
	 * Say which rows per second ceiling is in force from the next batch on. It holds the
	 * copy only: a verification pass, not held to it, estimates its time at its own rate.
	 * @param maxRowsPerSecond the ceiling, 0 for none
	 */
	void ceiling(long maxRowsPerSecond) {
		this.ceiling = this.verifying ? 0 : maxRowsPerSecond;
	}

	void batchSize(int batchSize) {
		this.batchSize = batchSize;
	}

	/** Rows walked so far, before this run and in it. */
	long rows() {
		return this.rowsBefore + this.runRows;
	}

	/** Rows found disagreeing so far (in this pass, for a verification). */
	long disagreeing() {
		return this.disagreeingBefore + this.runDisagreeing;
	}

	/** Rows rewritten so far (over all passes, for a verification). */
	long changed() {
		return this.changedBefore + this.runChanged;
	}

	long changedSinceVacuum() {
		return this.changedSinceVacuum;
	}

	void vacuumed() {
		this.changedSinceVacuum = 0;
	}

	/**
	 * Rows per second over the last {@link #RATE_WINDOW} of this run, counting a batch
	 * not yet committed, or {@code null} while the run is too young for a rate to mean
	 * something: less than {@link #MIN_RATE_SPAN} since it started and fewer than
	 * {@link #MIN_RATE_BATCHES} batches. At most the rows per second ceiling in force:
	 * the copy's pauses hold it to the ceiling from batch to batch, while a window of a
	 * few batches reads one pause fewer than batches (2,217 rows/s read under a ceiling
	 * of 2,000 a few seconds into a run); and one set live holds the copy from the next
	 * batch, while the window still reads the batches before it (an ETA of 18 s read
	 * where 10 minutes were left).
	 */
	@Nullable Double rate(long batchRows) {
		long now = this.clock.getAsLong();
		int batches = this.rateBatches + ((batchRows > 0) ? 1 : 0);
		if (now - this.rateStart < MIN_RATE_SPAN.toNanos() && batches < MIN_RATE_BATCHES) {
			return null;
		}
		long windowStart = now - RATE_WINDOW.toNanos();
		while (!this.marks.isEmpty() && this.marks.peekFirst()[0] <= windowStart) {
			this.rateFrom = this.marks.pollFirst();
		}
		double seconds = Math.max(1e-3, (now - this.rateFrom[0]) / 1e9);
		double rate = (this.runRows + batchRows - this.rateFrom[1]) / seconds;
		return (this.ceiling > 0) ? Math.min(rate, this.ceiling) : rate;
	}

	/**
	 * Seconds left at the {@link #rate(long) rate}, counting a batch not yet committed,
	 * or {@code null} if unknown. The rate counts at most the rows per second ceiling in
	 * force: one set live holds the copy from the next batch, while the rate still reads
	 * the batches before it (an ETA of 18 s read where 10 minutes were left).
	 */
	@Nullable Double etaSeconds(long batchRows) {
		if (this.rowsExpected == null || this.rowsExpected <= 0) {
			return null;
		}
		long left = this.rowsExpected - rows() - batchRows;
		if (left < 0) {
			// more rows than the table's statistics said, and the walk goes on: how many
			// are left is not known (an ETA of 0 once stood beside a copy at 38%)
			return null;
		}
		if (left == 0) {
			return 0.0;
		}
		Double rate = rate(batchRows);
		return (rate != null && rate > 0) ? left / rate : null;
	}

	/**
	 * Say that the walk goes on after it was held back entirely for a time: by a load
	 * check, or while a batch waited for a row another session held. After a hold of at
	 * least {@link #MIN_RATE_SPAN}, the rate is read afresh from now on, as at a run's
	 * start: the hold says nothing of the pace to come, and read over it the rate and the
	 * ETA stayed at the hold's for the window's 30 seconds after it (an ETA of 20 hours
	 * where 2 minutes were left). Shorter holds, as frequent as the batches, are the
	 * pace.
	 * @param held how long the walk was held back
	 */
	void heldBack(Duration held) {
		if (held.compareTo(MIN_RATE_SPAN) >= 0) {
			rateAfresh();
		}
	}

	private void rateAfresh() {
		this.rateStart = this.clock.getAsLong();
		this.rateBatches = 0;
		this.marks.clear();
		this.rateFrom = new long[] { this.rateStart, this.runRows };
	}

	/** Count a committed batch. */
	void advance(String highKey, long rows, long changed, long disagreeing) {
		this.lastKey = highKey;
		this.runRows += rows;
		this.rateBatches++;
		this.runChanged += changed;
		this.runDisagreeing += disagreeing;
		this.changedSinceVacuum += changed;
		this.marks.addLast(new long[] { this.clock.getAsLong(), this.runRows });
	}

	/** Return a progress line if one is due, or {@code null}. */
	@Nullable String progressLine() {
		long now = this.clock.getAsLong();
		long tenths = tenths(rows());
		if (tenths <= this.loggedTenths && now - this.lastLog < LOG_INTERVAL_NANOS) {
			return null;
		}
		// the share of the time since the last line the walk was paced: a line written
		// in a moment at full pace after minutes of backing off says so
		long paced = this.pacedNanos + ((this.pacedBy != null) ? now - this.paceChangedAt : 0);
		double pacedShare = (now > this.lastLog) ? (double) paced / (now - this.lastLog) : 0;
		String earlierPace = this.lastPacedBy;
		this.pacedNanos = 0;
		this.paceChangedAt = now;
		this.lastPacedBy = this.pacedBy;
		this.loggedTenths = tenths;
		this.lastLog = now;
		String expected = (this.rowsExpected != null && this.rowsExpected > 0)
				? ((rows() > this.rowsExpected)
						? " rows, more than the table's statistics estimated (about " + this.rowsExpected
								+ "; ANALYZE the table for a better estimate)"
						: " of about " + this.rowsExpected + " rows (" + rows() * 100 / this.rowsExpected + "%)")
				: " rows";
		Double rate = rate(0);
		Double eta = etaSeconds(0);
		String rateAndEta = ((rate != null) ? String.format(" at %.0f rows/s", rate) : ", no rate yet")
				+ ((eta != null) ? ", ETA " + Duration.ofSeconds(Math.round(eta)) : "");
		return this.verifying
				? "verification pass " + this.pass + " checked " + rows() + expected + rateAndEta + ", " + disagreeing()
						+ " disagreeing, " + changed() + " repaired so far"
				: "backfill copied " + rows() + expected + rateAndEta + ", " + changed() + " rewritten"
						+ ((this.pacedBy != null) ? "; paced" + by(this.pacedBy)
								: unpaced(rate, pacedShare, earlierPace));
	}

	/**
	 * Say how the copy goes when no signal paced its last batch: held at a rows per
	 * second ceiling it walks faster than (one just set live holds it from the next
	 * batch, before the pacing has named it), else at full pace.
	 */
	private String unpaced(@Nullable Double rate, double pacedShare, @Nullable String earlierPace) {
		if (this.ceiling > 0 && (rate == null || rate >= this.ceiling)) {
			return "; held at the ceiling of " + this.ceiling + " rows/s (max-rows-per-second)";
		}
		return fullPace(pacedShare, earlierPace);
	}

	private static String fullPace(double pacedShare, @Nullable String earlierPace) {
		if (earlierPace == null || pacedShare < 0.1) {
			return "; at full pace";
		}
		return String.format(Locale.ROOT, "; at full pace now, paced %.0f%% of the time since the last line, last%s",
				pacedShare * 100, by(earlierPace));
	}

	// "paced by table-latency: ...", but "paced, speeding up again, ..."
	private static String by(String pace) {
		return ((pace.startsWith(BackfillPacer.SPEEDING_UP) || pace.startsWith(BackfillPacer.HOLDING)) ? ", " : " by ")
				+ pace;
	}

	private long tenths(long rows) {
		return (this.rowsExpected != null && this.rowsExpected > 0) ? rows * 10 / this.rowsExpected : 0;
	}

}
