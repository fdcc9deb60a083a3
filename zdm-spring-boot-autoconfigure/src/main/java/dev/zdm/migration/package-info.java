/**
 * Declared migrations: phases, definitions, and their validation against the database
 * catalog.
 */
@NullMarked
package dev.zdm.migration;

import org.jspecify.annotations.NullMarked;
