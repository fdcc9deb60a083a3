/**
 * zdm's engine: the background backfill (scheduling, batches, pacing, verification) and
 * its stored progress. Not API: types are public for the other engine packages.
 */
@NullMarked
package dev.zdm.internal.backfill;

import org.jspecify.annotations.NullMarked;
