package dev.zdm.metrics;

import java.time.Duration;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jspecify.annotations.Nullable;

import dev.zdm.dualwrite.Schema;
import dev.zdm.internal.dualwrite.DualWriteListener;

/**
 * {@link DualWriteListener} that records the calls the routing beans make on the
 * repository implementations, each meter tagged with the {@code migration}:
 * <ul>
 * <li>{@code zdm.dualwrite.calls}: calls, tagged with the {@code operation} ({@code read}
 * or {@code write}), the {@code side} called ({@code old} or {@code new}), its
 * {@code role} ({@code source} of truth, or {@code sync} of the other side) and the
 * {@code outcome} ({@code success}, {@code failure}, or {@code contracted} for a write of
 * the old side at {@code contract} that failed because another instance had run the
 * contract DDL, and was made again on the new side alone);</li>
 * <li>{@code zdm.dualwrite.sync.failures}: sync calls that failed, rolling the whole
 * write back, tagged with the {@code side};</li>
 * <li>{@code zdm.dualwrite.sync.duration} (timer): time spent in the implementation that
 * keeps the other side in sync, for migrations synced by calling both implementations,
 * tagged with the {@code side}.</li>
 * </ul>
 */
public class DualWriteMetrics implements DualWriteListener {

	private static final String SUCCESS = "success";

	private static final String FAILURE = "failure";

	private static final String CONTRACTED = "contracted";

	private static final List<String> OUTCOMES = List.of(SUCCESS, FAILURE, CONTRACTED);

	private final MeterRegistry registry;

	/**
	 * Create a listener that records into a registry.
	 * @param registry the registry
	 */
	public DualWriteMetrics(MeterRegistry registry) {
		this.registry = registry;
	}

	/**
	 * Register every meter of a migration at zero, so that dashboards show it before
	 * anything happens.
	 * @param registry the registry
	 * @param migrationId the migration
	 */
	static void registerMeters(MeterRegistry registry, String migrationId) {
		for (Schema side : Schema.values()) {
			for (Operation operation : Operation.values()) {
				for (String outcome : OUTCOMES) {
					if (operation == Operation.READ && outcome.equals(CONTRACTED)) {
						continue; // only a write meets a contract
					}
					calls(registry, migrationId, operation, side, false, outcome);
					if (operation == Operation.WRITE) {
						calls(registry, migrationId, operation, side, true, outcome);
					}
				}
			}
			syncFailures(registry, migrationId, side);
			syncDuration(registry, migrationId, side);
		}
	}

	@Override
	public void called(String migrationId, Operation operation, Schema side, boolean sync, Duration duration,
			@Nullable Throwable failure) {
		calls(this.registry, migrationId, operation, side, sync, (failure != null) ? FAILURE : SUCCESS).increment();
		if (sync) {
			syncDuration(this.registry, migrationId, side).record(duration);
			if (failure != null) {
				syncFailures(this.registry, migrationId, side).increment();
			}
		}
	}

	@Override
	public void contracted(String migrationId, Schema side, boolean sync, Duration duration) {
		// the write went through on the new side: no sync failure
		calls(this.registry, migrationId, Operation.WRITE, side, sync, CONTRACTED).increment();
	}

	private static Counter calls(MeterRegistry registry, String id, Operation operation, Schema side, boolean sync,
			String outcome) {
		return Counter.builder("zdm.dualwrite.calls")
			.description("Calls routed to a repository implementation")
			.tags("migration", id, "operation", operation.value(), "side", value(side), "role",
					sync ? "sync" : "source", "outcome", outcome)
			.register(registry);
	}

	private static Counter syncFailures(MeterRegistry registry, String id, Schema side) {
		return Counter.builder("zdm.dualwrite.sync.failures")
			.description("Calls keeping the other side in sync that failed, rolling the write back")
			.tags("migration", id, "side", value(side))
			.register(registry);
	}

	private static Timer syncDuration(MeterRegistry registry, String id, Schema side) {
		return Timer.builder("zdm.dualwrite.sync.duration")
			.description("Time spent in the implementation that keeps the other side in sync")
			.tags("migration", id, "side", value(side))
			.register(registry);
	}

	private static String value(Schema side) {
		return side.name().toLowerCase();
	}

}
