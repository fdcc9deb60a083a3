package dev.zdm.internal.fleet;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * An operator's action on a migration through the endpoint, as recorded.
 *
 * @param action what was done, for example {@code backfill.pause} or
 * {@code contract.override}
 * @param principal the authenticated user who asked for it, or {@code anonymous}
 * @param instanceId the instance whose endpoint was called
 * @param reason why, as given
 * @param actedAt when
 */
public record OperatorAction(String action, String principal, String instanceId, @Nullable String reason,
		Instant actedAt) {

	/** The principal recorded when no user is authenticated. */
	public static final String ANONYMOUS = "anonymous";

}
