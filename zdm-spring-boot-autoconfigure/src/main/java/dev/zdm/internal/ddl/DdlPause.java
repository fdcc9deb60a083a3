package dev.zdm.internal.ddl;

import java.time.Instant;

/**
 * A fleet-wide pause of a migration's DDL step, set through the endpoint and kept in
 * {@code zdm_ddl_pause} until it is resumed.
 *
 * @param instanceId the instance whose endpoint paused it
 * @param pausedAt when (database time)
 */
public record DdlPause(String instanceId, Instant pausedAt) {

	/**
	 * Describe it in a few words.
	 * @return for example
	 * {@code paused through the endpoint of instance a at 2026-11-27T17:02:03Z}
	 */
	public String describe() {
		return "paused through the endpoint of instance " + this.instanceId + " at " + this.pausedAt;
	}

}
