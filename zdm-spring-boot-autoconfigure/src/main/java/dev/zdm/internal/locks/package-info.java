/**
 * zdm's engine: who waits on and who blocks a migration's tables, replication lag, and
 * query text with its literals replaced. Not API: types are public for the other engine
 * packages.
 */
@NullMarked
package dev.zdm.internal.locks;

import org.jspecify.annotations.NullMarked;
