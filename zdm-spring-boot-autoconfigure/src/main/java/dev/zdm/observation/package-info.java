/**
 * zdm's Micrometer observations of backfill batches, verification passes and DDL
 * statements, created by {@link dev.zdm.autoconfigure.ZdmObservationAutoConfiguration}.
 */
@NullMarked
package dev.zdm.observation;

import org.jspecify.annotations.NullMarked;
