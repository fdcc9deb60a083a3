/**
 * PLACEHOLDER dev.zdm.internal.catalog.
 */
@NullMarked
package dev.zdm.internal.catalog;

import org.jspecify.annotations.NullMarked;
