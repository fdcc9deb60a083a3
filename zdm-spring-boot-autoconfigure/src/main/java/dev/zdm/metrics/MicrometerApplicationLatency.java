package dev.zdm.metrics;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import dev.zdm.internal.backfill.ApplicationLatency;

/**
 * {@link ApplicationLatency} read from the application's connection pool meters in a
 * {@link MeterRegistry}: HikariCP's {@code hikaricp.connections.acquire} (waiting for a
 * connection) and {@code hikaricp.connections.usage} (holding it, so the time of the
 * statements run on it), summed over every pool. A pool without meters adds nothing, and
 * the backfill's pacing then reads only its probe on the table.
 */
public class MicrometerApplicationLatency implements ApplicationLatency {

	/**
	 * The timers read, by name.
	 */
	public static final List<String> TIMERS = List.of("hikaricp.connections.acquire", "hikaricp.connections.usage");

	private final MeterRegistry registry;

	/**
	 * Create a reader of a registry's connection pool timers.
	 * @param registry the registry
	 */
	public MicrometerApplicationLatency(MeterRegistry registry) {
		this.registry = registry;
	}

	@Override
	public Totals totals() {
		long calls = 0;
		double nanos = 0;
		for (String name : TIMERS) {
			for (Timer timer : this.registry.find(name).timers()) {
				if (name.endsWith(".usage")) {
					calls += timer.count();
				}
				nanos += timer.totalTime(TimeUnit.NANOSECONDS);
			}
		}
		return new Totals(calls, nanos);
	}

}
