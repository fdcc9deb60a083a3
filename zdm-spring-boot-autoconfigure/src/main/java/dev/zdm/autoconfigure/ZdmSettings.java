package dev.zdm.autoconfigure;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import dev.zdm.autoconfigure.ZdmProperties;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Checks every {@code zdm.*} setting against its bounds before it is used, so that a
 * value out of range fails start-up with the property, its value and its allowed range,
 * and before anything is written to the database.
 */
final class ZdmSettings {

	private ZdmSettings() {
	}

	static ZdmTables tables(@Nullable String schema) {
		if (schema != null && !SqlIdentifier.isValid(schema)) {
			throw new ZdmConfigurationException(null,
					"zdm.schema '" + schema + "' is not a plain SQL identifier (a letter or underscore, then letters, "
							+ "digits, underscores or dollar signs, at most 63 characters)",
					"Set zdm.schema to the name of the schema for zdm's tables, such as zdm, or remove it to keep "
							+ "them in the connection's current schema.");
		}
		return ZdmTables.inSchema(schema);
	}

	static void checkFleet(ZdmProperties.Fleet fleet) {
		positive(null, "zdm.fleet.heartbeat-interval", fleet.getHeartbeatInterval());
		positive(null, "zdm.fleet.timeout", fleet.getTimeout());
		if (fleet.getTimeout().compareTo(fleet.getHeartbeatInterval().multipliedBy(2)) < 0) {
			throw new ZdmConfigurationException(null,
					"zdm.fleet.timeout (" + fleet.getTimeout() + ") is less than twice zdm.fleet.heartbeat-interval ("
							+ fleet.getHeartbeatInterval() + "): a live instance would drop out of the fleet between "
							+ "two heartbeats",
					"Set zdm.fleet.timeout to at least twice zdm.fleet.heartbeat-interval (the defaults are 30s and 5s).");
		}
		notNegative(null, "zdm.fleet.join-timeout", fleet.getJoinTimeout());
		positive(null, "zdm.fleet.retention", fleet.getRetention());
		atLeast(null, "zdm.fleet.max-concurrent-backfills", fleet.getMaxConcurrentBackfills(), 1);
	}

	static void checkDdl(ZdmProperties.Ddl ddl) {
		positive(null, "zdm.ddl.lock-timeout", ddl.getLockTimeout());
		notNegative(null, "zdm.ddl.statement-timeout", ddl.getStatementTimeout());
		atLeast(null, "zdm.ddl.max-attempts", ddl.getMaxAttempts(), 1);
		notNegative(null, "zdm.ddl.initial-backoff", ddl.getInitialBackoff());
		if (ddl.getMaxBackoff().compareTo(ddl.getInitialBackoff()) < 0) {
			throw outOfRange(null, "zdm.ddl.max-backoff", ddl.getMaxBackoff(),
					"at least zdm.ddl.initial-backoff (" + ddl.getInitialBackoff() + ")");
		}
		if (!(ddl.getJitter() >= 0 && ddl.getJitter() <= 1)) {
			throw outOfRange(null, "zdm.ddl.jitter", ddl.getJitter(), "a value from 0 to 1");
		}
		positive(null, "zdm.ddl.expand-alert-after", ddl.getExpandAlertAfter());
	}

	static void checkBackfill(String id, String prefix, ZdmBackfillProperties backfill) {
		atLeast(id, prefix + "min-batch-size", backfill.getMinBatchSize(), 1);
		if (backfill.getMaxBatchSize() < backfill.getMinBatchSize()) {
			throw outOfRange(id, prefix + "max-batch-size", backfill.getMaxBatchSize(),
					"at least " + prefix + "min-batch-size (" + backfill.getMinBatchSize() + ")");
		}
		// Within 1 or more, the first batch is brought between the bounds
		// (BackfillSettings), so that lowering
		// max-batch-size alone does not refuse the default initial size.
		atLeast(id, prefix + "initial-batch-size", backfill.getInitialBatchSize(), 1);
		positive(id, prefix + "target-batch-duration", backfill.getTargetBatchDuration());
		notNegative(id, prefix + "pause", backfill.getPause());
		positive(id, prefix + "lock-timeout", backfill.getLockTimeout());
		positive(id, prefix + "statement-timeout", backfill.getStatementTimeout());
		if (backfill.getTargetBatchDuration().compareTo(backfill.getStatementTimeout()) >= 0) {
			throw outOfRange(id, prefix + "target-batch-duration", backfill.getTargetBatchDuration(),
					"less than " + prefix + "statement-timeout (" + backfill.getStatementTimeout()
							+ "), which cancels a longer batch; a batch holds the rows it writes until it commits, "
							+ "so keep it short, for example 200ms");
		}
		atLeast(id, prefix + "max-lock-waiters", backfill.getMaxLockWaiters(), 0);
		notNegative(id, prefix + "max-transaction-age", backfill.getMaxTransactionAge());
		notNegative(id, prefix + "verification-pause", backfill.getVerificationPause());
		positive(id, prefix + "throttle-check-interval", backfill.getThrottleCheckInterval());
		if (backfill.getVacuumEveryRows() < 0) {
			throw outOfRange(id, prefix + "vacuum-every-rows", backfill.getVacuumEveryRows(),
					"0 (leave vacuuming to autovacuum) or more");
		}
		if (backfill.getMaxRowsPerSecond() < 0) {
			throw outOfRange(id, prefix + "max-rows-per-second", backfill.getMaxRowsPerSecond(),
					"0 (no ceiling) or more");
		}
		latencyIncrease(id, prefix + "max-latency-increase", backfill.getMaxLatencyIncrease());
		if (backfill.getMaxWalRate() == null || backfill.getMaxWalRate().isNegative()) {
			throw outOfRange(id, prefix + "max-wal-rate", backfill.getMaxWalRate(),
					"0 (no ceiling) or a size of WAL per second, for example 64MB");
		}
		if (backfill.getVerificationPasses() < 2) {
			throw outOfRange(id, prefix + "verification-passes", backfill.getVerificationPasses(),
					"at least 2 (one pass to find and repair rows, one to confirm them)");
		}
	}

	/**
	 * Read a latency budget such as {@code 20%} (or the fraction {@code 0.2}).
	 * @param id the migration
	 * @param property the property's name
	 * @param value the property's value
	 * @return the budget as a fraction
	 */
	static double latencyIncrease(@Nullable String id, String property, @Nullable String value) {
		String text = (value != null) ? value.strip() : "";
		double fraction;
		try {
			fraction = text.endsWith("%") ? Double.parseDouble(text.substring(0, text.length() - 1).strip()) / 100
					: Double.parseDouble(text);
		}
		catch (NumberFormatException ex) {
			fraction = Double.NaN;
		}
		String range = "a percentage above 0% and at most 1000%, for example 20% (a number without % is a fraction: "
				+ "0.2 is 20%)";
		if (Double.isNaN(fraction)) {
			throw new ZdmConfigurationException(id, property + " is '" + value + "', which is not a percentage",
					"Set " + property + " to " + range + ".");
		}
		if (!(fraction > 0 && fraction <= 10)) {
			throw outOfRange(id, property, value, range);
		}
		return fraction;
	}

	private static void positive(@Nullable String id, String property, @Nullable Duration value) {
		if (value == null || value.isNegative() || value.isZero()) {
			throw outOfRange(id, property, value, "a duration greater than 0, for example 100ms or 5s");
		}
	}

	private static void notNegative(@Nullable String id, String property, @Nullable Duration value) {
		if (value == null || value.isNegative()) {
			throw outOfRange(id, property, value, "a duration of 0 or more, for example 0s or 5s");
		}
	}

	private static void atLeast(@Nullable String id, String property, int value, int minimum) {
		if (value < minimum) {
			throw outOfRange(id, property, value, minimum + " or more");
		}
	}

	private static ZdmConfigurationException outOfRange(@Nullable String id, String property, @Nullable Object value,
			String range) {
		return new ZdmConfigurationException(id, property + " is " + value + ", which is out of range",
				"Set " + property + " to " + range + ".");
	}

}
