/**
 * The backfill's API: {@link BackfillService} (pause, resume, verify, progress), what it
 * reports ({@link BackfillProgress}) and the {@link BackfillThrottle} extension point.
 * The backfill itself runs in {@code dev.zdm.internal.backfill}.
 */
@NullMarked
package dev.zdm.backfill;

import org.jspecify.annotations.NullMarked;
