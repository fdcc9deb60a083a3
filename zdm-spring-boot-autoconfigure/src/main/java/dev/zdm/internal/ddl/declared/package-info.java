/**
 * Declared schema changes: the lock-safe statements zdm generates, into the expand and
 * contract steps, for the columns, indexes and constraints a migration declares instead
 * of writing them in scripts, and the checks of those declarations against the catalog.
 */
@NullMarked
package dev.zdm.internal.ddl.declared;

import org.jspecify.annotations.NullMarked;
