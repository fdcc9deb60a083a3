package dev.zdm.backfill;

/**
 * Why a backfill holds back, as the {@code reason} of its throttle meters.
 */
public enum ThrottleReason {

	/** Sessions wait for a lock on the migration's table. */
	LOCK_WAITERS("lock-waiters"),

	/** A transaction has been open for longer than allowed. */
	OLD_TRANSACTION("old-transaction"),

	/** A streaming replica replays later than allowed. */
	REPLICATION_LAG("replication-lag"),

	/** The time of day is outside the allowed windows. */
	TIME_WINDOW("time-window"),

	/** A {@link BackfillThrottle} bean said so. */
	CUSTOM("custom"),

	/** An operator paused the backfill. */
	OPERATOR("operator"),

	/**
	 * A point read on the migration's table takes longer than while the copy pauses, by
	 * more than the latency budget.
	 */
	TABLE_LATENCY("table-latency"),

	/**
	 * The application's own database calls (its connection pool's acquire and usage
	 * times) take longer than while the copy pauses, by more than the latency budget.
	 */
	APPLICATION_LATENCY("application-latency"),

	/** Autovacuum works on the migration's table. */
	AUTOVACUUM("autovacuum"),

	/** The copy reached its rows per second ceiling. */
	ROWS_PER_SECOND("rows-per-second"),

	/** Other backfills hold the fleet's backfill slots on the table or the database. */
	CONCURRENCY("concurrency"),

	/** More WAL segments than allowed wait for the archiver. */
	WAL_ARCHIVE_BACKLOG("wal-archive-backlog"),

	/** The database writes WAL faster than allowed. */
	WAL_RATE("wal-rate");

	private final String value;

	ThrottleReason(String value) {
		this.value = value;
	}

	/**
	 * Return the reason as a tag value, for example {@code lock-waiters}.
	 * @return the value
	 */
	public String value() {
		return this.value;
	}

	@Override
	public String toString() {
		return this.value;
	}

}
