/**
 * zdm's own tables and their schema history.
 */
@NullMarked
package dev.zdm.schema;

import org.jspecify.annotations.NullMarked;
