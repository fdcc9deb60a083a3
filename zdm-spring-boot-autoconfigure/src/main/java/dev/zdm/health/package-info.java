/**
 * Health indicator for zdm.
 */
@NullMarked
package dev.zdm.health;

import org.jspecify.annotations.NullMarked;
