package dev.zdm.internal.ddl;

import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * What each migration declares for its abandon: why, and where the scripts are that undo
 * expand scripts zdm cannot reverse by itself.
 *
 * @param reasons the declared reason of each migration that has one
 * @param locations the locations of each migration's abandon scripts, if it has any
 */
public record AbandonSettings(Map<String, String> reasons, Map<String, List<String>> locations) {

	/**
	 * Create settings.
	 */
	public AbandonSettings {
		reasons = Map.copyOf(reasons);
		locations = Map.copyOf(locations);
	}

	/**
	 * No reasons and no abandon scripts.
	 * @return the settings
	 */
	public static AbandonSettings none() {
		return new AbandonSettings(Map.of(), Map.of());
	}

	/**
	 * Return a migration's declared reason.
	 * @param migrationId the migration
	 * @return the reason, or {@code null} if none is declared or it is blank
	 */
	public @Nullable String reason(String migrationId) {
		String reason = this.reasons.get(migrationId);
		return (reason != null && !reason.isBlank()) ? reason.trim() : null;
	}

	/**
	 * Return the locations of a migration's abandon scripts.
	 * @param migrationId the migration
	 * @return the locations, empty if zdm derives the abandon from the expand
	 */
	public List<String> locations(String migrationId) {
		return this.locations.getOrDefault(migrationId, List.of());
	}

}
