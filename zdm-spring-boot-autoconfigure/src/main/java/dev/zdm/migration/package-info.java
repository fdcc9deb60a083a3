/**
 * Declared migrations: {@link Phase}, {@link MigrationDefinition} and the values it
 * holds, and {@link ZdmConfigurationException}, the refusal of a declaration.
 */
@NullMarked
package dev.zdm.migration;

import org.jspecify.annotations.NullMarked;
