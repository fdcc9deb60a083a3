/**
 * Auto-configuration for zdm.
 */
@NullMarked
package dev.zdm.autoconfigure;

import org.jspecify.annotations.NullMarked;
