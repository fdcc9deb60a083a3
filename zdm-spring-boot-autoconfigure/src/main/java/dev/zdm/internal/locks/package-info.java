/**
 * PLACEHOLDER dev.zdm.internal.locks.
 */
@NullMarked
package dev.zdm.internal.locks;

import org.jspecify.annotations.NullMarked;
