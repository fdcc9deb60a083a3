package dev.zdm.migration;

import org.jspecify.annotations.Nullable;

/**
 * How a migration keeps the side that is not the source of truth in sync while both are
 * written.
 */
public enum SyncMode {

	/**
	 * Inside the writing statement, by a row trigger derived from {@code up} and
	 * {@code down}: for migrations inside one table (rename, split, type change). Also
	 * covers writes from outside the application.
	 */
	TRIGGER("trigger"),

	/**
	 * By calling the old and the new repository implementation in the same transaction:
	 * for migrations that move data into another table.
	 */
	REPOSITORIES("repositories"),

	/**
	 * Inside the writing statement, by the application itself: for a migration inside one
	 * table, writes go to an implementation marked {@code Schema.BOTH} that sets the old
	 * and the new columns in the same statement, and no trigger is installed, so writes
	 * pay nothing for the sync. Writers outside the application's routed repositories are
	 * not synced: the backfill's verification and the final check before the contract
	 * find what they left behind.
	 */
	APPLICATION("application");

	private final String value;

	SyncMode(String value) {
		this.value = value;
	}

	/**
	 * Return the value used in configuration.
	 * @return {@code trigger}, {@code repositories} or {@code application}
	 */
	public String value() {
		return this.value;
	}

	/**
	 * Return the mode for a configuration value, ignoring case.
	 * @param value the configuration value
	 * @return the mode, or {@code null} if none has that value
	 */
	public static @Nullable SyncMode fromValue(@Nullable String value) {
		if (value == null) {
			return null;
		}
		for (SyncMode mode : values()) {
			if (mode.value.equalsIgnoreCase(value.trim())) {
				return mode;
			}
		}
		return null;
	}

	@Override
	public String toString() {
		return this.value;
	}

}
