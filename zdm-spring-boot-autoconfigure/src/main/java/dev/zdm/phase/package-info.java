/**
 * The phase controller: requested and effective phases, the rules between them, and the
 * migration's fleet-wide state.
 */
@NullMarked
package dev.zdm.phase;

import org.jspecify.annotations.NullMarked;
