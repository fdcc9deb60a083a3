/**
 * PLACEHOLDER dev.zdm.internal.ddl.script.
 */
@NullMarked
package dev.zdm.internal.ddl.script;

import org.jspecify.annotations.NullMarked;
