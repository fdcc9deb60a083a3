package dev.zdm.internal.fleet;

import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * What the whole fleet knows of a migration's data: whether its backfill is verified and
 * whether its contract DDL has run.
 *
 * @param migrationId the migration
 * @param contractedAt when the contract DDL was claimed to run (it may still be running,
 * see {@code DdlStatus}), or {@code null}
 * @param contractedBy the instance that ran it, or {@code null}
 * @param verifiedAt when the backfill was last verified, or {@code null} if it is not (or
 * no longer) verified
 * @param verifiedFleet the fleet the verification holds for, as recorded then
 * @param verificationVoidReason why an earlier verification was voided, if it was
 */
public record MigrationState(String migrationId, @Nullable Instant contractedAt, @Nullable String contractedBy,
		@Nullable Instant verifiedAt, @Nullable String verifiedFleet, @Nullable String verificationVoidReason) {

	/**
	 * The state of a migration zdm has not seen before.
	 * @param migrationId the migration
	 * @return a state with nothing done
	 */
	public static MigrationState initial(String migrationId) {
		return new MigrationState(migrationId, null, null, null, null, null);
	}

	/**
	 * Whether the contract DDL has run or is running: the old schema may be gone.
	 * @return {@code true} once contracted
	 */
	public boolean isContracted() {
		return this.contractedAt != null;
	}

	/**
	 * Whether the backfill is verified and the verification still holds.
	 * @return {@code true} if verified
	 */
	public boolean isVerified() {
		return this.verifiedAt != null;
	}

}
