package dev.zdm.migration;

import org.jspecify.annotations.Nullable;

/**
 * Thrown at start-up when a migration's declaration or the application's use of it is
 * wrong. It says what is wrong and what to do; nothing has been changed in the database
 * when it is thrown, unless its description says otherwise.
 */
public class ZdmConfigurationException extends RuntimeException {

	private final @Nullable String migrationId;

	private final String action;

	/**
	 * Create a new exception.
	 * @param migrationId the migration concerned, or {@code null} if it concerns none in
	 * particular
	 * @param description what is wrong
	 * @param action what to do about it
	 */
	public ZdmConfigurationException(@Nullable String migrationId, String description, String action) {
		this(migrationId, description, action, null);
	}

	/**
	 * Create a new exception.
	 * @param migrationId the migration concerned, or {@code null} if it concerns none in
	 * particular
	 * @param description what is wrong
	 * @param action what to do about it
	 * @param cause the underlying cause, if any
	 */
	public ZdmConfigurationException(@Nullable String migrationId, String description, String action,
			@Nullable Throwable cause) {
		super((migrationId != null) ? "Migration '" + migrationId + "': " + description : description, cause);
		this.migrationId = migrationId;
		this.action = action;
	}

	/**
	 * Return the migration concerned.
	 * @return the migration id, or {@code null}
	 */
	public @Nullable String getMigrationId() {
		return this.migrationId;
	}

	/**
	 * Return what is wrong.
	 * @return the description
	 */
	public String getDescription() {
		return getMessage();
	}

	/**
	 * Return what to do about it.
	 * @return the action
	 */
	public String getAction() {
		return this.action;
	}

}
