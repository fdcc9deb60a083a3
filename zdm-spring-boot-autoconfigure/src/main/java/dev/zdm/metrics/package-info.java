/**
 * Micrometer metrics for zdm.
 */
@NullMarked
package dev.zdm.metrics;

import org.jspecify.annotations.NullMarked;
