package dev.zdm.metrics;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import dev.zdm.backfill.ThrottleReason;
import dev.zdm.internal.backfill.BackfillListener;
import dev.zdm.migration.MigrationDefinition;

/**
 * {@link BackfillListener} that records what the backfills running on this instance do,
 * each meter tagged with the {@code migration}:
 * <ul>
 * <li>{@code zdm.backfill.rows.copied}, {@code zdm.backfill.rows.updated}: rows walked
 * and rewritten by copy batches;</li>
 * <li>{@code zdm.backfill.rows.verified}, {@code zdm.backfill.rows.disagreeing},
 * {@code zdm.backfill.rows.repaired}: rows checked, found disagreeing and repaired by
 * verification batches;</li>
 * <li>{@code zdm.backfill.batch.duration} (timer) and {@code zdm.backfill.batch.size}
 * (rows asked for), tagged with the {@code kind} ({@code copy} or {@code verify});</li>
 * <li>{@code zdm.backfill.batch.retries}: failed batches retried with fewer rows;</li>
 * <li>{@code zdm.backfill.errors}: failures, tagged with the {@code stage}
 * ({@code batch}, {@code run} or {@code verification});</li>
 * <li>{@code zdm.backfill.throttle.pauses} and {@code zdm.backfill.throttle.time}
 * (seconds): times the backfill started holding back and how long it held back, tagged
 * with the {@code reason}: the load checks and the queue for a backfill slot, and the
 * pacing's pauses while a signal ({@code table-latency}, {@code application-latency},
 * {@code autovacuum}, {@code rows-per-second}) holds the copy back;</li>
 * <li>{@code zdm.backfill.verification.passes}: verification passes that walked every
 * row;</li>
 * <li>{@code zdm.backfill.verifications}: verifications recorded, tagged with the
 * {@code result} ({@code succeeded} or {@code failed}).</li>
 * </ul>
 */
public class BackfillMetrics implements BackfillListener {

	private final MeterRegistry registry;

	private final Map<String, BatchMeters> batchMeters = new ConcurrentHashMap<>();

	/**
	 * Create a listener that records into a registry.
	 * @param registry the registry
	 */
	public BackfillMetrics(MeterRegistry registry) {
		this.registry = registry;
	}

	/**
	 * Register every meter of a migration at zero, so that dashboards show it before
	 * anything happens.
	 * @param registry the registry
	 * @param migrationId the migration
	 */
	static void registerMeters(MeterRegistry registry, String migrationId) {
		for (BatchKind kind : BatchKind.values()) {
			batchDuration(registry, migrationId, kind);
			batchSize(registry, migrationId, kind);
		}
		for (MigrationCounter counter : MigrationCounter.values()) {
			counter.register(registry, migrationId);
		}
		for (String stage : new String[] { "batch", "run", "verification" }) {
			error(registry, migrationId, stage);
		}
		for (ThrottleReason reason : ThrottleReason.values()) {
			throttlePauses(registry, migrationId, reason);
			throttleTime(registry, migrationId, reason);
		}
		verifications(registry, migrationId, true);
		verifications(registry, migrationId, false);
	}

	@Override
	public Batch batchStarting(MigrationDefinition migration, BatchKind kind, int batchSize) {
		BatchMeters meters = this.batchMeters.computeIfAbsent(migration.id() + "/" + kind.value(),
				(key) -> new BatchMeters(this.registry, migration.id(), kind));
		long start = this.registry.config().clock().monotonicTime();
		return new Batch() {

			@Override
			public void copied(long rows, long updated) {
				ended();
				meters.rows.increment(rows);
				meters.rowsUpdated.increment(updated);
			}

			@Override
			public void verified(long rows, long disagreeing, long repaired) {
				ended();
				meters.rows.increment(rows);
				meters.rowsDisagreeing.increment(disagreeing);
				meters.rowsRepaired.increment(repaired);
			}

			@Override
			public void failed(Throwable failure, boolean retried) {
				ended();
				meters.errors.increment();
				if (retried) {
					meters.retries.increment();
				}
			}

			private void ended() {
				meters.duration.record(meters.registry.config().clock().monotonicTime() - start, TimeUnit.NANOSECONDS);
				meters.size.record(batchSize);
			}

		};
	}

	@Override
	public Pass verificationPassStarting(MigrationDefinition migration, int pass) {
		MeterRegistry registry = this.registry;
		return new Pass() {

			@Override
			public void finished(long checked, long disagreeing, long repaired) {
				MigrationCounter.VERIFICATION_PASSES.register(registry, migration.id()).increment();
			}

		};
	}

	@Override
	public void holdsBack(MigrationDefinition migration, ThrottleReason reason) {
		throttlePauses(this.registry, migration.id(), reason).increment();
	}

	@Override
	public void heldBack(MigrationDefinition migration, ThrottleReason reason, Duration duration) {
		throttleTime(this.registry, migration.id(), reason).increment(duration.toNanos() / 1e9);
	}

	@Override
	public void runFailed(MigrationDefinition migration, Throwable failure) {
		error(this.registry, migration.id(), "run").increment();
	}

	@Override
	public void verificationFinished(MigrationDefinition migration, int passes, boolean succeeded) {
		verifications(this.registry, migration.id(), succeeded).increment();
		if (!succeeded) {
			error(this.registry, migration.id(), "verification").increment();
		}
	}

	private static Timer batchDuration(MeterRegistry registry, String id, BatchKind kind) {
		return Timer.builder("zdm.backfill.batch.duration")
			.description("Duration of the backfill's batches")
			.tags("migration", id, "kind", kind.value())
			.register(registry);
	}

	private static DistributionSummary batchSize(MeterRegistry registry, String id, BatchKind kind) {
		return DistributionSummary.builder("zdm.backfill.batch.size")
			.description("Rows a backfill batch walks at most")
			.baseUnit("rows")
			.tags("migration", id, "kind", kind.value())
			.register(registry);
	}

	private static Counter error(MeterRegistry registry, String id, String stage) {
		return Counter.builder("zdm.backfill.errors")
			.description("Failures of the backfill: of a batch, of a run, or of a verification")
			.tags("migration", id, "stage", stage)
			.register(registry);
	}

	private static Counter throttlePauses(MeterRegistry registry, String id, ThrottleReason reason) {
		return Counter.builder("zdm.backfill.throttle.pauses")
			.description("Times the backfill started holding back")
			.tags("migration", id, "reason", reason.value())
			.register(registry);
	}

	private static Counter throttleTime(MeterRegistry registry, String id, ThrottleReason reason) {
		return Counter.builder("zdm.backfill.throttle.time")
			.description("Time the backfill held back")
			.baseUnit("seconds")
			.tags("migration", id, "reason", reason.value())
			.register(registry);
	}

	private static Counter verifications(MeterRegistry registry, String id, boolean succeeded) {
		return Counter.builder("zdm.backfill.verifications")
			.description("Verifications of the backfill recorded")
			.tags("migration", id, "result", succeeded ? "succeeded" : "failed")
			.register(registry);
	}

	/**
	 * The meters a migration's batches of one kind record into, looked up once.
	 */
	private static final class BatchMeters {

		private final MeterRegistry registry;

		private final Timer duration;

		private final DistributionSummary size;

		private final Counter rows;

		private final Counter rowsUpdated;

		private final Counter rowsDisagreeing;

		private final Counter rowsRepaired;

		private final Counter errors;

		private final Counter retries;

		BatchMeters(MeterRegistry registry, String id, BatchKind kind) {
			this.registry = registry;
			this.duration = batchDuration(registry, id, kind);
			this.size = batchSize(registry, id, kind);
			this.rows = ((kind == BatchKind.COPY) ? MigrationCounter.ROWS_COPIED : MigrationCounter.ROWS_VERIFIED)
				.register(registry, id);
			this.rowsUpdated = MigrationCounter.ROWS_UPDATED.register(registry, id);
			this.rowsDisagreeing = MigrationCounter.ROWS_DISAGREEING.register(registry, id);
			this.rowsRepaired = MigrationCounter.ROWS_REPAIRED.register(registry, id);
			this.errors = error(registry, id, "batch");
			this.retries = MigrationCounter.BATCH_RETRIES.register(registry, id);
		}

	}

	/**
	 * The counters tagged with the migration only.
	 */
	private enum MigrationCounter {

		ROWS_COPIED("zdm.backfill.rows.copied", "Rows walked by the backfill's copy batches"),

		ROWS_UPDATED("zdm.backfill.rows.updated", "Rows rewritten by the backfill's copy batches"),

		ROWS_VERIFIED("zdm.backfill.rows.verified", "Rows checked by the backfill's verification"),

		ROWS_DISAGREEING("zdm.backfill.rows.disagreeing",
				"Rows whose new columns disagreed with the old ones when verified"),

		ROWS_REPAIRED("zdm.backfill.rows.repaired", "Rows repaired by the backfill's verification"),

		BATCH_RETRIES("zdm.backfill.batch.retries", "Failed backfill batches retried with fewer rows"),

		VERIFICATION_PASSES("zdm.backfill.verification.passes", "Verification passes that walked every row");

		private final String name;

		private final String description;

		MigrationCounter(String name, String description) {
			this.name = name;
			this.description = description;
		}

		Counter register(MeterRegistry registry, String id) {
			return Counter.builder(this.name).description(this.description).tags("migration", id).register(registry);
		}

	}

}
