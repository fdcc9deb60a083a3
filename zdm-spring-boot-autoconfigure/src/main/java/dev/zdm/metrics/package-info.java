/**
 * PLACEHOLDER dev.zdm.metrics.
 */
@NullMarked
package dev.zdm.metrics;

import org.jspecify.annotations.NullMarked;
