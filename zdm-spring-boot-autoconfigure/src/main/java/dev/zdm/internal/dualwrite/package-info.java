/**
 * zdm's engine: the routing repository proxies and the same-table sync trigger. Not API:
 * types are public for the auto-configuration.
 */
@NullMarked
package dev.zdm.internal.dualwrite;

import org.jspecify.annotations.NullMarked;
