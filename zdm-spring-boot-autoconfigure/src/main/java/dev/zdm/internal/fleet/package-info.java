/**
 * PLACEHOLDER dev.zdm.internal.fleet.
 */
@NullMarked
package dev.zdm.internal.fleet;

import org.jspecify.annotations.NullMarked;
