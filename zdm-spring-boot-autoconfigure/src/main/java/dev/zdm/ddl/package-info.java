/**
 * The DDL extension point: {@link SchemaChangeContributor}. The lock-safe expand and
 * contract DDL runs in {@code dev.zdm.phase}.
 */
@NullMarked
package dev.zdm.ddl;

import org.jspecify.annotations.NullMarked;
