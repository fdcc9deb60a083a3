package dev.zdm.metrics;

import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import dev.zdm.internal.backfill.ApplicationLatency;
import dev.zdm.internal.backfill.OwnPoolCalls;

/**
 * {@link ApplicationLatency} read from the application's connection pool meters in a
 * {@link MeterRegistry}: HikariCP's {@code hikaricp.connections.acquire} (waiting for a
 * connection) and {@code hikaricp.connections.usage} (holding it, so the time of the
 * statements run on it), summed over every pool. A pool without meters adds nothing, and
 * the backfill's pacing then reads only its probe on the table. zdm's own calls on the
 * pools ({@link OwnPoolCalls}: heartbeats, progress writes, the endpoint's reads) are
 * left out: they are not the application's.
 */
public class MicrometerApplicationLatency implements ApplicationLatency {

	/**
	 * The timers read, by name.
	 */
	public static final List<String> TIMERS = List.of("hikaricp.connections.acquire", "hikaricp.connections.usage");

	private final MeterRegistry registry;

	private final OwnPoolCalls ownCalls;

	/**
	 * Create a reader of a registry's connection pool timers.
	 * @param registry the registry
	 * @param ownCalls zdm's own calls on the pools, which the totals leave out
	 */
	public MicrometerApplicationLatency(MeterRegistry registry, OwnPoolCalls ownCalls) {
		this.registry = registry;
		this.ownCalls = ownCalls;
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
		// differences of these totals count, not the totals: zdm's calls made before the
		// pool's meters were bound leave them below zero
		Totals own = this.ownCalls.totals();
		return new Totals(calls - own.calls(), nanos - own.nanos());
	}

}
