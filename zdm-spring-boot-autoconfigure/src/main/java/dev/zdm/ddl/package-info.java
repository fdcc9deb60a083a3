/**
 * The DDL extension point, {@link SchemaChangeContributor}, and the findings of the check
 * for unsafe statements ({@link UnsafeStatement}, {@link UnsafeOperation}). The lock-safe
 * expand and contract DDL runs in {@code dev.zdm.internal.ddl}.
 */
@NullMarked
package dev.zdm.ddl;

import org.jspecify.annotations.NullMarked;
