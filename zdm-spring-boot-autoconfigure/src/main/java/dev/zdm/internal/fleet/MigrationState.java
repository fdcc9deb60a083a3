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
 * @param abandonedAt when the abandon was claimed (what the expand created may still be
 * being dropped, see {@code DdlStatus}), or {@code null}
 * @param abandonedBy the instance that claimed it, or {@code null}
 * @param readNewAt when an instance first ran {@code read-new}, or {@code null}
 */
public record MigrationState(String migrationId, @Nullable Instant contractedAt, @Nullable String contractedBy,
		@Nullable Instant verifiedAt, @Nullable String verifiedFleet, @Nullable String verificationVoidReason,
		@Nullable Instant abandonedAt, @Nullable String abandonedBy, @Nullable Instant readNewAt) {

	/**
	 * Create the state of a migration that is not abandoned.
	 * @param migrationId the migration
	 * @param contractedAt when the contract DDL was claimed to run, or {@code null}
	 * @param contractedBy the instance that ran it, or {@code null}
	 * @param verifiedAt when the backfill was last verified, or {@code null}
	 * @param verifiedFleet the fleet the verification holds for
	 * @param verificationVoidReason why an earlier verification was voided, if it was
	 */
	public MigrationState(String migrationId, @Nullable Instant contractedAt, @Nullable String contractedBy,
			@Nullable Instant verifiedAt, @Nullable String verifiedFleet, @Nullable String verificationVoidReason) {
		this(migrationId, contractedAt, contractedBy, verifiedAt, verifiedFleet, verificationVoidReason, null, null,
				null);
	}

	/**
	 * The state of a migration zdm has not seen before.
	 * @param migrationId the migration
	 * @return a state with nothing done
	 */
	public static MigrationState initial(String migrationId) {
		return new MigrationState(migrationId, null, null, null, null, null, null, null, null);
	}

	/**
	 * Whether the contract DDL has run or is running: the old schema may be gone.
	 * @return {@code true} once contracted
	 */
	public boolean isContracted() {
		return this.contractedAt != null;
	}

	/**
	 * Whether the migration is abandoned: the abandon was claimed, every instance routes
	 * to the old side only, and what the expand created is dropped or being dropped.
	 * @return {@code true} once abandoned
	 */
	public boolean isAbandoned() {
		return this.abandonedAt != null;
	}

	/**
	 * Whether the backfill is verified and the verification still holds.
	 * @return {@code true} if verified
	 */
	public boolean isVerified() {
		return this.verifiedAt != null;
	}

	/**
	 * Why an earlier verification no longer holds, while the backfill is not verified
	 * again.
	 * @return the reason it was voided, or {@code null} if it is verified or was never
	 * voided
	 */
	public @Nullable String voidedVerification() {
		return isVerified() ? null : this.verificationVoidReason;
	}

}
