package dev.zdm.testing;

import java.time.Duration;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import dev.zdm.backfill.BackfillProgress;
import dev.zdm.backfill.BackfillService;
import dev.zdm.backfill.ThrottleReason;
import dev.zdm.migration.BackfillSettings;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;

/**
 * Backfill settings and migrations shared by the backfill tests: a same-table migration
 * that derives {@code email_address} from {@code email}, backfilled in batches sized and
 * paced for a test.
 */
public final class BackfillFixtures {

	private BackfillFixtures() {
	}

	/**
	 * Return backfill settings with the given batch sizes and pause, and short timeouts
	 * and throttle checks.
	 * @param initial the first batch's size
	 * @param min the smallest batch
	 * @param max the largest batch
	 * @param pause the pause between batches
	 * @return the settings
	 */
	public static BackfillSettings settings(int initial, int min, int max, Duration pause) {
		return BackfillSettings.builder()
			.batchSizes(initial, min, max)
			.targetBatchDuration(Duration.ofMillis(50))
			.pause(pause)
			.lockTimeout(Duration.ofMillis(500))
			.statementTimeout(Duration.ofSeconds(5))
			.maxLockWaiters(0)
			.maxTransactionAge(Duration.ofMinutes(1))
			.throttleCheckInterval(Duration.ofMillis(100))
			.vacuumEveryRows(5_000)
			.build();
	}

	/**
	 * Return a migration of a table {@code (id bigint, email text, email_address text)}
	 * that derives {@code email_address} as {@code lower(email)}.
	 * @param id the migration's id
	 * @param table the table
	 * @param phase the requested phase
	 * @param settings the backfill settings
	 * @return the migration
	 */
	public static MigrationDefinition migration(String id, String table, Phase phase, BackfillSettings settings) {
		return MigrationDefinition.builder(id)
			.requestedPhase(phase)
			.table(table)
			.up("email_address", "lower(email)")
			.backfill(settings)
			.build();
	}

	/**
	 * Return the rows a backfill has walked so far.
	 * @param service the backfill service
	 * @param id the migration
	 * @return the rows, 0 before it started
	 */
	public static long rowsDone(BackfillService service, String id) {
		BackfillProgress progress = service.progress(id);
		return (progress != null) ? progress.rowsDone() : 0;
	}

	/**
	 * Return how often a signal has held a migration's copy back, by the
	 * {@code zdm.backfill.throttle.pauses} meter.
	 * @param meters the registry of the backfill's meters
	 * @param id the migration
	 * @param reason the signal
	 * @return the count, 0 before the signal first held the copy back (its meters are
	 * registered then)
	 */
	public static double throttlePauses(MeterRegistry meters, String id, ThrottleReason reason) {
		Counter counter = meters.find("zdm.backfill.throttle.pauses")
			.tags("migration", id, "reason", reason.value())
			.counter();
		return (counter != null) ? counter.count() : 0;
	}

}
