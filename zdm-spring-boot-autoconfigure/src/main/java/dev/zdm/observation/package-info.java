/**
 * Micrometer observations of zdm's DDL statements, backfill batches and verification
 * passes, seen as spans by a user with tracing.
 */
@NullMarked
package dev.zdm.observation;

import org.jspecify.annotations.NullMarked;
