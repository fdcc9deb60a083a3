/**
 * PLACEHOLDER dev.zdm.observation.
 */
@NullMarked
package dev.zdm.observation;

import org.jspecify.annotations.NullMarked;
