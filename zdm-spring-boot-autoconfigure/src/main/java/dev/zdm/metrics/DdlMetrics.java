package dev.zdm.metrics;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.DdlListener;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.locks.BlockingSession;

/**
 * {@link DdlListener} that records the expand and contract statements this instance runs,
 * each meter tagged with the {@code migration} and the {@code step} ({@code expand} or
 * {@code contract}):
 * <ul>
 * <li>{@code zdm.ddl.statements}: statements finished, tagged with the {@code outcome}
 * ({@code applied} or {@code failed});</li>
 * <li>{@code zdm.ddl.attempts}: attempts, the first one included;</li>
 * <li>{@code zdm.ddl.lock.timeouts}: attempts that timed out waiting for a lock;</li>
 * <li>{@code zdm.ddl.blocked} (timer): how long each of those attempts waited;</li>
 * <li>{@code zdm.ddl.duration} (timer): how long each statement took, retries included,
 * tagged with the {@code outcome}.</li>
 * </ul>
 */
public class DdlMetrics implements DdlListener {

	private final MeterRegistry registry;

	/**
	 * Create a listener that records into a registry.
	 * @param registry the registry
	 */
	public DdlMetrics(MeterRegistry registry) {
		this.registry = registry;
	}

	/**
	 * Register every meter of a migration at zero, so that dashboards show it before
	 * anything happens.
	 * @param registry the registry
	 * @param migrationId the migration
	 */
	static void registerMeters(MeterRegistry registry, String migrationId) {
		for (DdlStep step : DdlStep.values()) {
			for (boolean applied : new boolean[] { true, false }) {
				statements(registry, migrationId, step, applied);
				duration(registry, migrationId, step, applied);
			}
			attempts(registry, migrationId, step);
			lockTimeouts(registry, migrationId, step);
			blocked(registry, migrationId, step);
		}
	}

	@Override
	public Execution statementStarting(StatementKey key, DdlStatement statement) {
		MeterRegistry registry = this.registry;
		long start = registry.config().clock().monotonicTime();
		String id = key.migrationId();
		DdlStep step = key.step();
		return new Execution() {

			@Override
			public void attemptStarting(int attempt) {
				attempts(registry, id, step).increment();
			}

			@Override
			public void lockTimeout(int attempt, Duration waited, List<BlockingSession> blockers) {
				lockTimeouts(registry, id, step).increment();
				blocked(registry, id, step).record(waited);
			}

			@Override
			public void finished(@Nullable Throwable failure) {
				statements(registry, id, step, failure == null).increment();
				duration(registry, id, step, failure == null).record(registry.config().clock().monotonicTime() - start,
						TimeUnit.NANOSECONDS);
			}

		};
	}

	private static Counter statements(MeterRegistry registry, String id, DdlStep step, boolean applied) {
		return Counter.builder("zdm.ddl.statements")
			.description("Expand and contract statements finished")
			.tags("migration", id, "step", step.value(), "outcome", applied ? "applied" : "failed")
			.register(registry);
	}

	private static Timer duration(MeterRegistry registry, String id, DdlStep step, boolean applied) {
		return Timer.builder("zdm.ddl.duration")
			.description("Duration of expand and contract statements, retries included")
			.tags("migration", id, "step", step.value(), "outcome", applied ? "applied" : "failed")
			.register(registry);
	}

	private static Counter attempts(MeterRegistry registry, String id, DdlStep step) {
		return Counter.builder("zdm.ddl.attempts")
			.description("Attempts of expand and contract statements")
			.tags("migration", id, "step", step.value())
			.register(registry);
	}

	private static Counter lockTimeouts(MeterRegistry registry, String id, DdlStep step) {
		return Counter.builder("zdm.ddl.lock.timeouts")
			.description("Attempts of expand and contract statements that timed out waiting for a lock")
			.tags("migration", id, "step", step.value())
			.register(registry);
	}

	private static Timer blocked(MeterRegistry registry, String id, DdlStep step) {
		return Timer.builder("zdm.ddl.blocked")
			.description("Time attempts of expand and contract statements waited for a lock before timing out")
			.tags("migration", id, "step", step.value())
			.register(registry);
	}

}
