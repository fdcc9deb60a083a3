/**
 * PLACEHOLDER dev.zdm.health.
 */
@NullMarked
package dev.zdm.health;

import org.jspecify.annotations.NullMarked;
