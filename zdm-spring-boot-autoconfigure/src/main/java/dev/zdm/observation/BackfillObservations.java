package dev.zdm.observation;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;

import dev.zdm.internal.backfill.BackfillListener;
import dev.zdm.migration.MigrationDefinition;

/**
 * {@link BackfillListener} that observes each backfill batch ({@value #BATCH}, tagged
 * with the {@code migration} and the {@code kind}, {@code copy} or {@code verify}) and
 * each verification pass ({@value #VERIFICATION_PASS}, tagged with the
 * {@code migration}). Tags are low-cardinality only; a failed batch carries its error.
 */
public class BackfillObservations implements BackfillListener {

	/** Name of the observation of a backfill batch. */
	public static final String BATCH = "zdm.backfill.batch";

	/** Name of the observation of a verification pass. */
	public static final String VERIFICATION_PASS = "zdm.backfill.verification.pass";

	private final ObservationRegistry registry;

	/**
	 * Create a listener that observes into a registry.
	 * @param registry the registry
	 */
	public BackfillObservations(ObservationRegistry registry) {
		this.registry = registry;
	}

	@Override
	public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
		Observation observation = Observation.createNotStarted(BATCH, this.registry)
			.contextualName("zdm backfill " + kind.value() + " batch")
			.lowCardinalityKeyValue("migration", migration.id())
			.lowCardinalityKeyValue("kind", kind.value())
			.start();
		return new Batch() {

			@Override
			public void copied(long rows, long updated) {
				observation.stop();
			}

			@Override
			public void verified(long rows, long disagreeing, long repaired) {
				observation.stop();
			}

			@Override
			public void failed(Throwable failure, boolean retried) {
				observation.error(failure);
				observation.stop();
			}

		};
	}

	@Override
	public Pass verificationPassStarting(MigrationDefinition migration, int pass) {
		Observation observation = Observation.createNotStarted(VERIFICATION_PASS, this.registry)
			.contextualName("zdm backfill verification pass")
			.lowCardinalityKeyValue("migration", migration.id())
			.start();
		return new Pass() {

			@Override
			public void finished(long checked, long disagreeing, long repaired) {
				observation.lowCardinalityKeyValue("outcome", (disagreeing == 0) ? "agreed" : "disagreed");
				observation.stop();
			}

			@Override
			public void stopped() {
				observation.lowCardinalityKeyValue("outcome", "stopped");
				observation.stop();
			}

		};
	}

}
