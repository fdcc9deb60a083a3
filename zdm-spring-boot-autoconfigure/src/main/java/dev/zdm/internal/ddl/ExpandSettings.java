package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import dev.zdm.internal.fleet.PoolConnections;

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
 * @param poolSize the most connections the application's pool opens, if known: an expand
 * holds 3 while it runs, and the background expands of several migrations run only as
 * many at once as leave one over
 */
public record ExpandSettings(boolean atStartup, Duration alertAfter, Set<String> paused, @Nullable Integer poolSize) {

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
	 * Create settings under which the background expands of every migration run at once.
	 * @param atStartup whether the expand runs at start-up
	 * @param alertAfter how long the expand may stay pending before it reports itself as
	 * stalled
	 * @param paused the migrations whose expand this instance does not run
	 */
	public ExpandSettings(boolean atStartup, Duration alertAfter, Set<String> paused) {
		this(atStartup, alertAfter, paused, null);
	}

	/**
	 * Return how many migrations' background expands may run at once.
	 * @return the expands that may run at once, 0 if the pool is too small for one
	 */
	int maxConcurrent() {
		return PoolConnections.concurrentDdl(this.poolSize);
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
