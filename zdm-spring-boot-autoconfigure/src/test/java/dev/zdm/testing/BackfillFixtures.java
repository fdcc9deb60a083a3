package dev.zdm.testing;

import java.time.Duration;

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

}
