package dev.zdm.backfill;

/**
 * Where a migration's backfill stands, as every instance reads it.
 */
public enum BackfillState {

	/** Not started yet. */
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

	/** The last run stopped on an error; another run retries. */
	FAILED;

	/**
	 * Return the value stored in the database.
	 * @return the lower-case name
	 */
	public String value() {
		return name().toLowerCase();
	}

	public static BackfillState fromValue(String value) {
		return valueOf(value.toUpperCase());
	}

}
