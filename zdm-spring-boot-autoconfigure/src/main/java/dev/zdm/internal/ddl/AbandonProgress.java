package dev.zdm.internal.ddl;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * Where a migration's abandon stands, as this instance saw it at its last heartbeat.
 *
 * @param state {@code waiting} (for the instances named in {@code detail} to route to the
 * old side only), {@code dropping} (what the expand created, on the instance that claimed
 * it), {@code failed} (the last attempt failed; it is tried again) or {@code done}
 * @param detail what it waits for, or the last error
 * @param reason why the migration is abandoned, as declared
 * @param claimedAt when the abandon was claimed, or {@code null}
 * @param claimedBy the instance that claimed it, or {@code null}
 */
public record AbandonProgress(String state, @Nullable String detail, @Nullable String reason,
		@Nullable Instant claimedAt, @Nullable String claimedBy) {

	/** Waiting for instances to route to the old side only. */
	public static final String WAITING = "waiting";

	/** Dropping what the expand created. */
	public static final String DROPPING = "dropping";

	/** The last attempt failed; it is tried again. */
	public static final String FAILED = "failed";

	/** What the expand created is dropped and zdm's data of the migration cleared. */
	public static final String DONE = "done";

}
