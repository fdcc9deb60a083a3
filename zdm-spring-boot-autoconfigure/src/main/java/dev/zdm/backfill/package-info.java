/**
 * The background backfill: copies existing rows from the old columns to the new ones in
 * keyset batches, paced and throttled, with one runner for the fleet, and verifies the
 * result.
 */
@NullMarked
package dev.zdm.backfill;

import org.jspecify.annotations.NullMarked;
