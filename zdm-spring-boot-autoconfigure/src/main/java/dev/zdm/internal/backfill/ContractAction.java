package dev.zdm.internal.backfill;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * An operator's action on a migration's final contract check, as recorded.
 *
 * @param action {@code recheck}, {@code apply-old} or {@code override}
 * @param principal the authenticated user who asked for it, or {@code anonymous}
 * @param instanceId the instance whose endpoint was called
 * @param reason why, as given
 * @param actedAt when
 */
public record ContractAction(String action, String principal, String instanceId, @Nullable String reason,
		Instant actedAt) {

}
