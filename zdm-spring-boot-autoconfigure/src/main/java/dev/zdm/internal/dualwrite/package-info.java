/**
 * PLACEHOLDER dev.zdm.internal.dualwrite.
 */
@NullMarked
package dev.zdm.internal.dualwrite;

import org.jspecify.annotations.NullMarked;
