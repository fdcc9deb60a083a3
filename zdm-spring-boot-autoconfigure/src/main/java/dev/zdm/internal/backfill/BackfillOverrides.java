package dev.zdm.internal.backfill;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import org.springframework.util.unit.DataSize;

import dev.zdm.migration.BackfillSettings;

/**
 * The settings of a running backfill that an operator changed, live, over the declared
 * ones: those that pace it. Each is {@code null} while the declared value applies. Stored
 * in {@code zdm_backfill_override} by {@link BackfillOverrideRepository}, read by every
 * instance at each heartbeat and merged over its declared {@link BackfillSettings}.
 *
 * @param initialBatchSize rows in the next batch
 * @param minBatchSize fewest rows in a batch
 * @param maxBatchSize most rows in a batch
 * @param targetBatchDuration the longest a copy batch should take
 * @param pause least pause between two copy batches
 * @param maxRowsPerSecond most rows the copy walks per second, 0 for no ceiling
 * @param maxLatencyIncrease how much slower the workload's database calls may become
 * while the copy runs, as a fraction
 * @param maxLockWaiters most sessions waiting on a lock on the table before the backfill
 * holds back
 * @param maxTransactionAge age of the oldest open transaction above which the backfill
 * holds back, zero for never
 * @param maxReplicationLag replay lag of a replica above which the backfill holds back,
 * zero for never
 * @param maxWalArchiveBacklog WAL segments waiting for the archiver above which the
 * backfill holds back, 0 for never
 * @param maxWalRate WAL the database may write per second before the backfill holds back,
 * zero for no ceiling
 */
public record BackfillOverrides(@Nullable Integer initialBatchSize, @Nullable Integer minBatchSize,
		@Nullable Integer maxBatchSize, @Nullable Duration targetBatchDuration, @Nullable Duration pause,
		@Nullable Long maxRowsPerSecond, @Nullable Double maxLatencyIncrease, @Nullable Integer maxLockWaiters,
		@Nullable Duration maxTransactionAge, @Nullable Duration maxReplicationLag, @Nullable Long maxWalArchiveBacklog,
		@Nullable DataSize maxWalRate) {

	/**
	 * No override: the declared settings apply.
	 */
	public static final BackfillOverrides NONE = new BackfillOverrides(null, null, null, null, null, null, null, null,
			null, null, null, null);

	/**
	 * The operator action that changes overrides.
	 */
	public static final String CHANGE_ACTION = "backfill.tuning";

	/**
	 * The operator action that clears them.
	 */
	public static final String CLEAR_ACTION = "backfill.tuning.clear";

	/**
	 * The principal recorded when a declaration clears them.
	 */
	public static final String DECLARATION = "declaration";

	/**
	 * Return the fingerprint of a declaration of backfill settings: equal for equal
	 * settings on every instance, so that a declaration that clears the overrides clears
	 * them once.
	 * @param declared the declared settings
	 * @return the fingerprint, 16 hexadecimal digits
	 */
	public static String fingerprint(BackfillSettings declared) {
		try {
			byte[] digest = MessageDigest.getInstance("SHA-256")
				.digest(declared.toString().getBytes(StandardCharsets.UTF_8));
			return HexFormat.of().formatHex(digest, 0, 8);
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Whether nothing is overridden.
	 * @return {@code true} if the declared settings apply as they are
	 */
	public boolean isEmpty() {
		return values().isEmpty();
	}

	/**
	 * Return these overrides with those of a later change on top: what the change sets
	 * replaces, what it leaves {@code null} stays.
	 * @param change the later change
	 * @return the overrides after the change
	 */
	public BackfillOverrides with(BackfillOverrides change) {
		return new BackfillOverrides(either(change.initialBatchSize, this.initialBatchSize),
				either(change.minBatchSize, this.minBatchSize), either(change.maxBatchSize, this.maxBatchSize),
				either(change.targetBatchDuration, this.targetBatchDuration), either(change.pause, this.pause),
				either(change.maxRowsPerSecond, this.maxRowsPerSecond),
				either(change.maxLatencyIncrease, this.maxLatencyIncrease),
				either(change.maxLockWaiters, this.maxLockWaiters),
				either(change.maxTransactionAge, this.maxTransactionAge),
				either(change.maxReplicationLag, this.maxReplicationLag),
				either(change.maxWalArchiveBacklog, this.maxWalArchiveBacklog),
				either(change.maxWalRate, this.maxWalRate));
	}

	private static <T> @Nullable T either(@Nullable T preferred, @Nullable T fallback) {
		return (preferred != null) ? preferred : fallback;
	}

	/**
	 * Check each value is in the range its property allows, as the
	 * {@code zdm.migrations.<id>.backfill.*} properties are checked at start-up.
	 * @throws IllegalArgumentException naming the first value out of range and what it
	 * may be
	 */
	public void check() {
		atLeast("initialBatchSize", this.initialBatchSize, 1);
		atLeast("minBatchSize", this.minBatchSize, 1);
		atLeast("maxBatchSize", this.maxBatchSize, 1);
		if (this.minBatchSize != null && this.maxBatchSize != null && this.maxBatchSize < this.minBatchSize) {
			throw outOfRange("maxBatchSize", this.maxBatchSize, "at least minBatchSize (" + this.minBatchSize + ")");
		}
		if (this.targetBatchDuration != null
				&& (this.targetBatchDuration.isNegative() || this.targetBatchDuration.isZero())) {
			throw outOfRange("targetBatchDuration", this.targetBatchDuration,
					"a duration greater than 0, for example 100ms or 1s");
		}
		notNegative("pause", this.pause);
		atMostADay("targetBatchDuration", this.targetBatchDuration, "");
		atMostADay("pause", this.pause, "; to stop the copy for longer, pause it with POST /actuator/zdm/<id>/pause");
		atMostADay("maxTransactionAge", this.maxTransactionAge, "");
		atMostADay("maxReplicationLag", this.maxReplicationLag, "");
		if (this.maxRowsPerSecond != null && this.maxRowsPerSecond < 0) {
			throw outOfRange("maxRowsPerSecond", this.maxRowsPerSecond, "0 (no ceiling) or more");
		}
		if (this.maxLatencyIncrease != null && !(this.maxLatencyIncrease > 0 && this.maxLatencyIncrease <= 10)) {
			throw outOfRange("maxLatencyIncrease", this.maxLatencyIncrease,
					"a percentage above 0% and at most 1000%, for example \"20%\" (a number without % is a "
							+ "fraction: 0.2 is 20%)");
		}
		atLeast("maxLockWaiters", this.maxLockWaiters, 0);
		notNegative("maxTransactionAge", this.maxTransactionAge);
		notNegative("maxReplicationLag", this.maxReplicationLag);
		if (this.maxWalArchiveBacklog != null && this.maxWalArchiveBacklog < 0) {
			throw outOfRange("maxWalArchiveBacklog", this.maxWalArchiveBacklog,
					"0 (never hold back for the archiver) or a number of WAL segments, for example 32");
		}
		if (this.maxWalRate != null && this.maxWalRate.isNegative()) {
			throw outOfRange("maxWalRate", this.maxWalRate,
					"0 (no ceiling) or a size of WAL per second, for example \"64MB\"");
		}
	}

	/**
	 * Return declared settings with these overrides merged over them.
	 * @param declared the settings as declared
	 * @return the settings the backfill runs with
	 * @throws IllegalArgumentException if a value is out of range or the merged batch
	 * sizes are inconsistent, as a maximum below the declared minimum
	 */
	public BackfillSettings applyTo(BackfillSettings declared) {
		check();
		if (isEmpty()) {
			return declared;
		}
		BackfillSettings.Builder builder = declared.toBuilder();
		// the declared initial size was brought within the declared bounds: start from
		// the raw bounds so that the merged ones bring it within theirs
		int min = (this.minBatchSize != null) ? this.minBatchSize : declared.minBatchSize();
		int max = (this.maxBatchSize != null) ? this.maxBatchSize : declared.maxBatchSize();
		if (max < min) {
			throw new IllegalArgumentException("the batch sizes would be min " + min + " and max " + max + " ("
					+ ((this.minBatchSize != null) ? "minBatchSize overridden" : "minBatchSize declared") + ", "
					+ ((this.maxBatchSize != null) ? "maxBatchSize overridden" : "maxBatchSize declared")
					+ "): the max must be at least the min. Override both, or clear the overrides");
		}
		builder.batchSizes((this.initialBatchSize != null) ? this.initialBatchSize : declared.initialBatchSize(), min,
				max);
		if (this.targetBatchDuration != null) {
			if (this.targetBatchDuration.compareTo(declared.statementTimeout()) >= 0) {
				throw outOfRange("targetBatchDuration", this.targetBatchDuration,
						"less than the batches' statement-timeout (" + format(declared.statementTimeout())
								+ "), which cancels a longer batch; a batch holds the rows it writes until it "
								+ "commits, so keep it short, for example 200ms");
			}
			builder.targetBatchDuration(this.targetBatchDuration);
		}
		if (this.pause != null) {
			builder.pause(this.pause);
		}
		if (this.maxRowsPerSecond != null) {
			builder.maxRowsPerSecond(this.maxRowsPerSecond);
		}
		if (this.maxLatencyIncrease != null) {
			builder.maxLatencyIncrease(this.maxLatencyIncrease);
		}
		if (this.maxLockWaiters != null) {
			builder.maxLockWaiters(this.maxLockWaiters);
		}
		if (this.maxTransactionAge != null) {
			builder.maxTransactionAge(this.maxTransactionAge);
		}
		if (this.maxReplicationLag != null) {
			builder.maxReplicationLag(this.maxReplicationLag);
		}
		if (this.maxWalArchiveBacklog != null) {
			builder.maxWalArchiveBacklog(this.maxWalArchiveBacklog);
		}
		if (this.maxWalRate != null) {
			builder.maxWalRate(this.maxWalRate.toBytes());
		}
		return builder.build();
	}

	/**
	 * Return the values overridden, by name, in declaration order.
	 * @return the values, without those left to the declaration
	 */
	public Map<String, Object> values() {
		Map<String, @Nullable Object> all = new LinkedHashMap<>();
		all.put("initialBatchSize", this.initialBatchSize);
		all.put("minBatchSize", this.minBatchSize);
		all.put("maxBatchSize", this.maxBatchSize);
		all.put("targetBatchDuration", this.targetBatchDuration);
		all.put("pause", this.pause);
		all.put("maxRowsPerSecond", this.maxRowsPerSecond);
		all.put("maxLatencyIncrease", this.maxLatencyIncrease);
		all.put("maxLockWaiters", this.maxLockWaiters);
		all.put("maxTransactionAge", this.maxTransactionAge);
		all.put("maxReplicationLag", this.maxReplicationLag);
		all.put("maxWalArchiveBacklog", this.maxWalArchiveBacklog);
		all.put("maxWalRate", this.maxWalRate);
		Map<String, Object> values = new LinkedHashMap<>();
		all.forEach((name, value) -> {
			if (value != null) {
				values.put(name, value);
			}
		});
		return values;
	}

	/**
	 * Return the values these overrides cover, as the given settings have them.
	 * @param settings the settings, as declared or as merged
	 * @return the values, by name, in declaration order
	 */
	public static Map<String, Object> tunable(BackfillSettings settings) {
		Map<String, Object> values = new LinkedHashMap<>();
		values.put("initialBatchSize", settings.initialBatchSize());
		values.put("minBatchSize", settings.minBatchSize());
		values.put("maxBatchSize", settings.maxBatchSize());
		values.put("targetBatchDuration", settings.targetBatchDuration());
		values.put("pause", settings.pause());
		values.put("maxRowsPerSecond", settings.maxRowsPerSecond());
		values.put("maxLatencyIncrease", settings.maxLatencyIncrease());
		values.put("maxLockWaiters", settings.maxLockWaiters());
		values.put("maxTransactionAge", settings.maxTransactionAge());
		values.put("maxReplicationLag", settings.maxReplicationLag());
		values.put("maxWalArchiveBacklog", settings.maxWalArchiveBacklog());
		values.put("maxWalRate", DataSize.ofBytes(settings.maxWalRate()));
		return values;
	}

	/**
	 * Describe the overrides in words, such as {@code maxBatchSize=2000, pause=500ms}.
	 * @return the description, {@code none} if nothing is overridden
	 */
	public String describe() {
		Map<String, Object> values = values();
		if (values.isEmpty()) {
			return "none";
		}
		return values.entrySet()
			.stream()
			.map((entry) -> entry.getKey() + "=" + formatted(entry.getKey(), entry.getValue()))
			.collect(Collectors.joining(", "));
	}

	/**
	 * Format a setting's value as the properties take it: durations as {@code 500ms},
	 * sizes as {@code 64MB}, the latency budget as a percentage.
	 * @param name the setting's name, as in {@link #values()}
	 * @param value its value
	 * @return the value in words
	 */
	public static Object formatted(String name, Object value) {
		if (value instanceof Duration duration) {
			return format(duration);
		}
		if (value instanceof DataSize size) {
			return format(size);
		}
		if ("maxLatencyIncrease".equals(name) && value instanceof Double fraction) {
			return formatLatencyIncrease(fraction);
		}
		return value;
	}

	/**
	 * Format a duration as the properties take it: {@code 120s}, {@code 500ms}, else ISO.
	 * @param duration the duration
	 * @return the duration in words
	 */
	public static String format(Duration duration) {
		if (!duration.isZero() && duration.getNano() == 0) {
			return duration.getSeconds() + "s";
		}
		return (duration.toNanos() % 1_000_000 == 0) ? duration.toMillis() + "ms" : duration.toString();
	}

	/**
	 * Format a latency budget as the properties take it, a percentage: {@code 20%},
	 * {@code 12.5%}; {@code off} when there is none.
	 * @param fraction the budget as a fraction of the baseline
	 * @return the budget in words
	 */
	public static String formatLatencyIncrease(double fraction) {
		return Double.isFinite(fraction) ? BigDecimal.valueOf(fraction * 100).stripTrailingZeros().toPlainString() + "%"
				: "off";
	}

	/**
	 * Format a size as the properties take it, in the largest unit that holds it whole:
	 * {@code 64MB}, {@code 1536KB}, {@code 0B}.
	 * @param size the size
	 * @return the size in words
	 */
	public static String format(DataSize size) {
		long bytes = size.toBytes();
		for (String unit : new String[] { "TB", "GB", "MB", "KB" }) {
			long unitBytes = DataSize.parse("1" + unit).toBytes();
			if (bytes != 0 && bytes % unitBytes == 0) {
				return (bytes / unitBytes) + unit;
			}
		}
		return bytes + "B";
	}

	private static void atLeast(String name, @Nullable Integer value, int minimum) {
		if (value != null && value < minimum) {
			throw outOfRange(name, value, minimum + " or more");
		}
	}

	private static void notNegative(String name, @Nullable Duration value) {
		if (value != null && value.isNegative()) {
			throw outOfRange(name, value, "a duration of 0 or more, for example 0s or 500ms");
		}
	}

	private static void atMostADay(String name, @Nullable Duration value, String advice) {
		if (value != null && value.compareTo(Duration.ofDays(1)) > 0) {
			throw outOfRange(name, value, "at most 1d" + advice);
		}
	}

	private static IllegalArgumentException outOfRange(String name, Object value, String range) {
		return new IllegalArgumentException(
				name + " is " + formatted(name, value) + ", which is out of range: set it to " + range);
	}

}
