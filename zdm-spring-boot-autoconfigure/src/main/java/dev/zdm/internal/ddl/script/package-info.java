/**
 * zdm's engine: reading expand and contract scripts into statements, and the check for
 * statements that block or rewrite a table. Not API: types are public for the other
 * engine packages.
 */
@NullMarked
package dev.zdm.internal.ddl.script;

import org.jspecify.annotations.NullMarked;
