/**
 * zdm's engine: the phase controller, the phase rules, the fleet registry, each
 * migration's stored state and zdm's own schema. Not API: types are public for the other
 * engine packages.
 */
@NullMarked
package dev.zdm.internal.fleet;

import org.jspecify.annotations.NullMarked;
