/**
 * zdm at run time: the {@link PhaseController} and everything it drives (the fleet
 * registry, the expand and contract DDL, the backfill, the dual-write routing, the
 * endpoint, health and meters) and their configuration. Package-private but for the
 * controller and the values it returns; see {@code docs/architecture.md}.
 */
@NullMarked
package dev.zdm.phase;

import org.jspecify.annotations.NullMarked;
