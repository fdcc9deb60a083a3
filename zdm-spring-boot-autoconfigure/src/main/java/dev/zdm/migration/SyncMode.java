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
	REPOSITORIES("repositories");

	private final String value;

	SyncMode(String value) {
		this.value = value;
	}

	/**
	 * Return the value used in configuration.
	 * @return {@code trigger} or {@code repositories}
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
