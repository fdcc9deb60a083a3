package dev.zdm.internal.fleet;

import org.jspecify.annotations.Nullable;

import dev.zdm.migration.Phase;

/**
 * The phase an instance may run at, and why it is behind the requested phase if it is.
 *
 * @param effective the effective phase
 * @param heldBackReason why the effective phase is behind the requested one, or
 * {@code null} if it is not
 */
public record PhaseDecision(Phase effective, @Nullable String heldBackReason) {

}
