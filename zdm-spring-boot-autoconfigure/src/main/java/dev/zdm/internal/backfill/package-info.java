/**
 * PLACEHOLDER dev.zdm.internal.backfill.
 */
@NullMarked
package dev.zdm.internal.backfill;

import org.jspecify.annotations.NullMarked;
