/**
 * Lock-safe expand and contract DDL.
 */
@NullMarked
package dev.zdm.ddl;

import org.jspecify.annotations.NullMarked;
