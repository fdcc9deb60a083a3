/**
 * zdm's engine: the lock-safe DDL executor and its retries, the expand and contract
 * runners and the DDL history. Not API: types are public for the other engine packages.
 */
@NullMarked
package dev.zdm.internal.ddl;

import org.jspecify.annotations.NullMarked;
