/**
 * Dual-write repository proxies routed by the effective phase, and the trigger that keeps
 * a same-table migration's old and new columns in sync inside the writing statement.
 */
@NullMarked
package dev.zdm.dualwrite;

import org.jspecify.annotations.NullMarked;
