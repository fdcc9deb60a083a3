package dev.zdm.observation;

import java.time.Duration;
import java.util.List;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import org.jspecify.annotations.Nullable;

import dev.zdm.internal.ddl.DdlHistoryRepository.StatementKey;
import dev.zdm.internal.ddl.DdlListener;
import dev.zdm.internal.ddl.script.DdlStatement;
import dev.zdm.internal.locks.BlockingSession;

/**
 * {@link DdlListener} that observes each expand and contract statement
 * ({@value #STATEMENT}), tagged with the {@code migration}, the {@code step} and the
 * {@code outcome}, with an event for each attempt that timed out on a lock. Tags are
 * low-cardinality only; a failed statement carries its error.
 */
public class DdlObservations implements DdlListener {

	/** Name of the observation of a DDL statement. */
	public static final String STATEMENT = "zdm.ddl.statement";

	private static final Observation.Event LOCK_TIMEOUT = Observation.Event.of("zdm.ddl.lock.timeout",
			"timed out waiting for a lock");

	private final ObservationRegistry registry;

	/**
	 * Create a listener that observes into a registry.
	 * @param registry the registry
	 */
	public DdlObservations(ObservationRegistry registry) {
		this.registry = registry;
	}

	@Override
	public Execution statementStarting(StatementKey key, DdlStatement statement) {
		Observation observation = Observation.createNotStarted(STATEMENT, this.registry)
			.contextualName("zdm " + key.step().value() + " statement")
			.lowCardinalityKeyValue("migration", key.migrationId())
			.lowCardinalityKeyValue("step", key.step().value())
			.start();
		return new Execution() {

			@Override
			public void lockTimeout(int attempt, Duration waited, List<BlockingSession> blockers) {
				observation.event(LOCK_TIMEOUT);
			}

			@Override
			public void finished(@Nullable Throwable failure) {
				observation.lowCardinalityKeyValue("outcome", (failure != null) ? "failed" : "applied");
				if (failure != null) {
					observation.error(failure);
				}
				observation.stop();
			}

		};
	}

}
