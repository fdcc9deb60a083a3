package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.Set;

/**
 * How the expand DDL runs: in the background while the instance serves (the default), or
 * at start-up.
 *
 * @param atStartup whether the expand runs at start-up, before the instance serves, and
 * fails start-up after {@code max-attempts}; for applications that need the new schema
 * before they start, such as batch jobs
 * @param alertAfter how long the expand may stay pending on an instance before it reports
 * itself as stalled
 * @param paused the migrations whose expand this instance does not run
 */
public record ExpandSettings(boolean atStartup, Duration alertAfter, Set<String> paused) {

	/**
	 * Create settings, checking they are consistent.
	 */
	public ExpandSettings {
		if (alertAfter.isNegative() || alertAfter.isZero()) {
			throw new IllegalArgumentException("zdm.ddl.expand-alert-after must be positive");
		}
		paused = Set.copyOf(paused);
	}

	/**
	 * The defaults: the expand runs in the background, reports itself stalled after 10
	 * minutes, none is paused.
	 * @return the default settings
	 */
	public static ExpandSettings defaults() {
		return new ExpandSettings(false, Duration.ofMinutes(10), Set.of());
	}

}
