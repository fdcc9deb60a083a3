package dev.zdm.actuate.endpoint;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.core.convert.ConversionException;
import org.springframework.core.convert.ConversionService;
import org.springframework.util.unit.DataSize;

import dev.zdm.internal.backfill.BackfillOverrideRepository;
import dev.zdm.internal.backfill.BackfillOverrides;
import dev.zdm.internal.fleet.OperatorAction;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;

/**
 * The {@link ZdmEndpoint}'s live tuning of a backfill: reads the values of a request as
 * the properties are read (durations such as {@code 500ms} or {@code PT0.5S}, a latency
 * budget such as {@code 20%}, a WAL rate such as {@code 64MB}), checks them against the
 * declared settings as the properties are checked, stores them as overrides that every
 * instance reads at its next heartbeat, and shows them.
 */
public final class BackfillTuning {

	private static final ConversionService conversion = ApplicationConversionService.getSharedInstance();

	/**
	 * The settings a change takes, by name, each with what values it takes.
	 */
	private static final Map<String, String> SETTINGS = settings();

	private final BackfillOverrideRepository repository;

	BackfillTuning(BackfillOverrideRepository repository) {
		this.repository = repository;
	}

	/**
	 * Change some settings of a migration's backfill, keeping the other overrides.
	 * @param migration the migration
	 * @param values the values sent, by name, {@code null} for those not sent
	 * @param action who asks, where, when and why
	 * @return the tuning after the change
	 * @throws InvalidEndpointRequestException if a value is malformed or out of range, or
	 * none is sent; nothing is changed then
	 */
	TuningDescriptor change(MigrationDefinition migration, Map<String, @Nullable String> values,
			OperatorAction action) {
		String id = migration.id();
		BackfillOverrides change = parse(id, values);
		if (change.isEmpty()) {
			throw invalid("Send at least one setting to change, as in POST /actuator/zdm/" + id
					+ "/backfill/tuning/set with {\"maxBatchSize\": 2000, \"pause\": \"500ms\", \"reason\": \"...\"}; "
					+ "the settings are " + String.join(", ", values.keySet())
					+ " (to go back to the declared settings, POST /actuator/zdm/" + id + "/backfill/tuning/clear)");
		}
		this.repository.change(id, change, action, (overrides) -> {
			try {
				overrides.applyTo(migration.backfill());
			}
			catch (IllegalArgumentException ex) {
				throw notChanged(id, ex);
			}
		});
		return describe(migration);
	}

	/**
	 * Clear every override of a migration's backfill: its declared settings apply again.
	 * @param migration the migration
	 * @param action who asks, where, when and why
	 * @return the tuning after the clear
	 */
	TuningDescriptor clear(MigrationDefinition migration, OperatorAction action) {
		this.repository.save(migration.id(), BackfillOverrides.NONE, action);
		return describe(migration);
	}

	/**
	 * Return the settings a migration's backfill runs with: the declared ones with the
	 * overrides merged over them, or the declared ones if the overrides do not fit them.
	 * @param migration the migration
	 * @return the settings
	 */
	BackfillSettings effective(MigrationDefinition migration) {
		BackfillOverrideRepository.Stored stored = this.repository.find(migration.id());
		try {
			return (stored != null) ? stored.overrides().applyTo(migration.backfill()) : migration.backfill();
		}
		catch (IllegalArgumentException ex) {
			return migration.backfill();
		}
	}

	/**
	 * Return a migration's tuning: its declared settings, the overrides and who set them.
	 * @param migration the migration
	 * @return the tuning
	 */
	TuningDescriptor describe(MigrationDefinition migration) {
		BackfillOverrideRepository.Stored stored = this.repository.find(migration.id());
		BackfillOverrides overrides = (stored != null) ? stored.overrides() : BackfillOverrides.NONE;
		String conflict = null;
		try {
			overrides.applyTo(migration.backfill());
		}
		catch (IllegalArgumentException ex) {
			conflict = "the overrides do not fit this instance's declared settings, which it runs with: "
					+ ex.getMessage();
		}
		return new TuningDescriptor(BackfillOverrides.tunable(migration.backfill()), overrides.values(),
				(stored != null) ? stored.setBy() : null, (stored != null) ? stored.setOn() : null,
				(stored != null) ? stored.setAt() : null, (stored != null) ? stored.reason() : null, conflict);
	}

	private static BackfillOverrides parse(String id, Map<String, @Nullable String> values) {
		BackfillOverrides overrides = new BackfillOverrides(value(id, values, "initialBatchSize", Integer.class),
				value(id, values, "minBatchSize", Integer.class), value(id, values, "maxBatchSize", Integer.class),
				value(id, values, "targetBatchDuration", Duration.class), value(id, values, "pause", Duration.class),
				value(id, values, "maxRowsPerSecond", Long.class),
				latencyIncrease(id, values.get("maxLatencyIncrease")),
				value(id, values, "maxLockWaiters", Integer.class),
				value(id, values, "maxTransactionAge", Duration.class),
				value(id, values, "maxReplicationLag", Duration.class),
				value(id, values, "maxWalArchiveBacklog", Long.class), value(id, values, "maxWalRate", DataSize.class));
		try {
			overrides.check();
		}
		catch (IllegalArgumentException ex) {
			throw notChanged(id, ex);
		}
		return overrides;
	}

	private static <T> @Nullable T value(String id, Map<String, @Nullable String> values, String name, Class<T> type) {
		String value = values.get(name);
		if (value == null) {
			return null;
		}
		if (value.isBlank()) {
			throw empty(id, name, "empty");
		}
		String example = (type == Duration.class) ? "a duration such as \"500ms\", \"2s\" or \"PT0.5S\""
				: (type == DataSize.class) ? "a size of WAL per second such as \"64MB\", or 0 for no ceiling"
						: "a whole number such as 2000";
		try {
			T converted = conversion.convert(value.strip(), type);
			if (converted == null) {
				throw empty(id, name, "empty");
			}
			return converted;
		}
		catch (ConversionException ex) {
			if ((type == Integer.class || type == Long.class) && value.strip().matches("[+-]?[0-9]+")) {
				throw invalid(name + " is '" + value + "', which is too large a number: send at most "
						+ ((type == Integer.class) ? Integer.MAX_VALUE : Long.MAX_VALUE));
			}
			throw invalid(name + " is '" + value + "', which is not " + example);
		}
	}

	/**
	 * Read a latency budget as {@code zdm.migrations.<id>.backfill.max-latency-increase}
	 * is read: {@code 20%}, or the fraction {@code 0.2}.
	 */
	private static @Nullable Double latencyIncrease(String id, @Nullable String value) {
		if (value == null) {
			return null;
		}
		if (value.isBlank()) {
			throw empty(id, "maxLatencyIncrease", "empty");
		}
		String text = value.strip();
		double increase;
		try {
			increase = text.endsWith("%") ? Double.parseDouble(text.substring(0, text.length() - 1).strip()) / 100
					: Double.parseDouble(text);
		}
		catch (NumberFormatException ex) {
			increase = Double.NaN;
		}
		if (!Double.isFinite(increase)) {
			throw invalid("maxLatencyIncrease is '" + value + "', which is not a percentage such as \"20%\"");
		}
		return increase;
	}

	/**
	 * Return whether a name is one of the settings a change takes.
	 * @param name the name
	 * @return whether it is a setting
	 */
	static boolean isSetting(String name) {
		return SETTINGS.containsKey(name);
	}

	/**
	 * Return the refusal of a setting sent without a value: {@code ""} or {@code null}
	 * (which the web layer tells from a setting not sent), saying what values the setting
	 * takes, and that a setting's override is dropped by a clear, not by an empty value.
	 * @param id the migration
	 * @param name the setting
	 * @param what {@code empty} or {@code null}
	 * @return the refusal, which says that nothing was changed
	 */
	static InvalidEndpointRequestException empty(String id, String name, String what) {
		return invalid(name + " is " + what + ": send " + SETTINGS.get(name) + ", or leave it out to keep its "
				+ "value. An empty or null value does not drop an override: to go back to the declared settings, POST "
				+ "/actuator/zdm/" + id + "/backfill/tuning/clear (it clears every override)");
	}

	private static Map<String, String> settings() {
		String rows = "a whole number of rows such as 2000";
		String duration = "a duration such as \"500ms\", \"2s\" or \"PT0.5S\"";
		String orNever = "a duration such as \"30s\", or \"0s\" for never";
		Map<String, String> settings = new LinkedHashMap<>();
		settings.put("initialBatchSize", rows);
		settings.put("minBatchSize", rows);
		settings.put("maxBatchSize", rows);
		settings.put("targetBatchDuration", duration);
		settings.put("pause", duration);
		settings.put("maxRowsPerSecond", "a whole number such as 2000, or 0 for no ceiling");
		settings.put("maxLatencyIncrease", "a percentage such as \"20%\"");
		settings.put("maxLockWaiters", "a whole number of sessions such as 5");
		settings.put("maxTransactionAge", orNever);
		settings.put("maxReplicationLag", orNever);
		settings.put("maxWalArchiveBacklog", "a whole number of WAL segments such as 32, or 0 for never");
		settings.put("maxWalRate", "a size of WAL per second such as \"64MB\", or 0 for no ceiling");
		return Map.copyOf(settings);
	}

	// every refusal says that nothing changed, as the endpoint's other refusals do
	private static InvalidEndpointRequestException invalid(String message) {
		return refusal(message + "; nothing was changed");
	}

	// settings that do not fit together, or the declared ones, say so first
	private static InvalidEndpointRequestException notChanged(String id, IllegalArgumentException ex) {
		return refusal("Backfill settings of migration '" + id + "' not changed: " + ex.getMessage());
	}

	private static InvalidEndpointRequestException refusal(String message) {
		return new InvalidEndpointRequestException(message, message);
	}

	/**
	 * Describe settings for the endpoint: durations as {@code 500ms}, sizes as
	 * {@code 64MB}, the latency budget as a percentage.
	 */
	private static Map<String, Object> shown(Map<String, Object> values) {
		Map<String, Object> shown = new LinkedHashMap<>();
		values.forEach((name, value) -> shown.put(name, BackfillOverrides.formatted(name, value)));
		return shown;
	}

	/**
	 * A backfill's live tuning: the settings that pace it as declared, those an operator
	 * overrode, and who did it last.
	 *
	 * @param declared the settings as this instance declares them
	 * @param overrides the settings overridden, fleet-wide; the others are as declared
	 * @param setBy who changed or cleared the overrides last ({@code declaration} when a
	 * declaration with {@code clear-overrides=true} cleared them)
	 * @param setOn from which instance
	 * @param setAt when
	 * @param reason why, as given
	 * @param conflict why this instance runs with its declared settings although
	 * overrides are set, if it does
	 */
	public record TuningDescriptor(Map<String, Object> declared, Map<String, Object> overrides, @Nullable String setBy,
			@Nullable String setOn, @Nullable Instant setAt, @Nullable String reason, @Nullable String conflict) {

		public TuningDescriptor {
			declared = shown(declared);
			overrides = shown(overrides);
		}

	}

}
