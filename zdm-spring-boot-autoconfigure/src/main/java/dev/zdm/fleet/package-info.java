/**
 * The fleet registry: every running instance, its phases and its heartbeat.
 */
@NullMarked
package dev.zdm.fleet;

import org.jspecify.annotations.NullMarked;
