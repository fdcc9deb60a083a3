package dev.zdm.backfill;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Where a migration's backfill stands, as every instance reads it.
 */
public enum BackfillState {

	/**
	 * Not started yet; or, as {@code /actuator/zdm} shows it, waiting for an instance to
	 * take it over, the instance that ran it having left the fleet, or verified once but
	 * to run again, its verification having been voided since.
	 */
	PENDING,

	/** Copying rows in batches. */
	RUNNING,

	/** Holding back while the database shows load or outside the allowed time windows. */
	THROTTLED,

	/** Paused through {@link BackfillService#pause(String)}; resumes where it stopped. */
	PAUSED,

	/** Every row is copied; checking, and repairing, that every row agrees. */
	VERIFYING,

	/** Verified: every row agreed. */
	VERIFIED,

	/**
	 * The verification found rows still disagreeing, or the batches kept failing beyond
	 * the failure budget (the backfill is then paused until it is resumed).
	 */
	FAILED;

	/**
	 * Return the value stored in the database, and shown by the endpoint and the health
	 * details.
	 * @return the lower-case name
	 */
	@JsonValue
	public String value() {
		return name().toLowerCase();
	}

	public static BackfillState fromValue(String value) {
		return valueOf(value.toUpperCase());
	}

}
