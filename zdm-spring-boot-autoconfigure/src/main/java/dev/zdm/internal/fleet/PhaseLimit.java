package dev.zdm.internal.fleet;

import dev.zdm.migration.Phase;

/**
 * The highest phase a {@link MigrationParticipant} lets this instance run a migration at
 * for now, and why, as the expand DDL holds every instance at {@code expand} until it is
 * done.
 *
 * @param highest the highest phase allowed
 * @param reason why, as shown in the held-back reason
 */
public record PhaseLimit(Phase highest, String reason) {

}
