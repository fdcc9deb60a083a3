/**
 * zdm's Micrometer meters, created by
 * {@link dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration}.
 */
@NullMarked
package dev.zdm.metrics;

import org.jspecify.annotations.NullMarked;
