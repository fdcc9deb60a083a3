/**
 * PLACEHOLDER dev.zdm.internal.ddl.
 */
@NullMarked
package dev.zdm.internal.ddl;

import org.jspecify.annotations.NullMarked;
