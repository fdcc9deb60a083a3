package dev.zdm.internal.fleet;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.Phase;
import dev.zdm.migration.SyncMode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link PhasePolicy}: the rules alone, without a database.
 */
@Tag("no-database")
class PhasePolicyTests {

	private final PhasePolicy policy = new PhasePolicy();

	private static final MigrationState NOTHING_DONE = MigrationState.initial("m");

	private static final MigrationState VERIFIED = new MigrationState("m", null, null, Instant.now(), "fleet", null);

	private static final MigrationState CONTRACTED = new MigrationState("m", Instant.now(), "x", Instant.now(), "fleet",
			null);

	@Test
	void loneInstanceRunsAtItsRequestedPhase() {
		PhaseDecision decision = this.policy.decide(migration(Phase.BACKFILL), null, List.of(), NOTHING_DONE);
		assertThat(decision.effective()).isEqualTo(Phase.BACKFILL);
		assertThat(decision.heldBackReason()).isNull();
	}

	@Test
	void instanceRunsAtMostOnePhaseAheadOfTheSlowestOtherInstance() {
		PhaseDecision decision = this.policy.decide(migration(Phase.BACKFILL), null,
				List.of(member("old", Phase.EXPAND), member("peer", Phase.DUAL_WRITE)), NOTHING_DONE);
		assertThat(decision.effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(decision.heldBackReason()).contains("instance old runs expand");
	}

	@Test
	void runningInstanceMovesUpOnePhasePerDecision() {
		PhaseDecision decision = this.policy.decide(migration(Phase.CONTRACT), Phase.DUAL_WRITE, List.of(), VERIFIED);
		assertThat(decision.effective()).isEqualTo(Phase.BACKFILL);
		assertThat(decision.heldBackReason()).contains("one step per heartbeat");
	}

	@Test
	void participantLimitHoldsTheInstanceAtExpandUntilItIsLifted() {
		PhaseLimit expandPending = new PhaseLimit(Phase.EXPAND, "the expand DDL is not done yet");
		PhaseDecision held = this.policy.decide(migration(Phase.READ_NEW), null, List.of(), VERIFIED,
				List.of(expandPending));
		assertThat(held.effective()).isEqualTo(Phase.EXPAND);
		assertThat(held.heldBackReason()).isEqualTo("the expand DDL is not done yet");
		PhaseDecision released = this.policy.decide(migration(Phase.DUAL_WRITE), Phase.EXPAND, List.of(), NOTHING_DONE,
				List.of());
		assertThat(released.effective()).isEqualTo(Phase.DUAL_WRITE);
	}

	@Test
	void readNewNeedsAVerifiedBackfill() {
		PhaseDecision held = this.policy.decide(migration(Phase.READ_NEW), Phase.BACKFILL, List.of(), NOTHING_DONE);
		assertThat(held.effective()).isEqualTo(Phase.BACKFILL);
		assertThat(held.heldBackReason()).contains("verified backfill");
		PhaseDecision released = this.policy.decide(migration(Phase.READ_NEW), Phase.BACKFILL, List.of(), VERIFIED);
		assertThat(released.effective()).isEqualTo(Phase.READ_NEW);
		assertThat(released.heldBackReason()).isNull();
	}

	@Test
	void migrationWithoutBackfillNeedsNoVerification() {
		MigrationDefinition noBackfill = MigrationDefinition.builder("m")
			.table("users")
			.requestedPhase(Phase.READ_NEW)
			.build();
		assertThat(this.policy.decide(noBackfill, Phase.BACKFILL, List.of(), NOTHING_DONE).effective())
			.isEqualTo(Phase.READ_NEW);
	}

	@Test
	void voidedVerificationIsGivenAsTheReason() {
		MigrationState voided = new MigrationState("m", null, null, null, null, "instance x runs expand");
		PhaseDecision decision = this.policy.decide(migration(Phase.READ_NEW), Phase.BACKFILL, List.of(), voided);
		assertThat(decision.heldBackReason()).contains("no longer verified (instance x runs expand)");
	}

	@Test
	void contractedMigrationRunsAtContractWhateverTheFleet() {
		PhaseDecision decision = this.policy.decide(migration(Phase.CONTRACT), Phase.READ_NEW,
				List.of(member("old", Phase.READ_NEW)), CONTRACTED);
		assertThat(decision.effective()).isEqualTo(Phase.CONTRACT);
	}

	@Test
	void lowerRequestIsAlwaysHonoured() {
		PhaseDecision decision = this.policy.decide(migration(Phase.DUAL_WRITE), Phase.READ_NEW,
				List.of(member("peer", Phase.READ_NEW)), VERIFIED);
		assertThat(decision.effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(decision.heldBackReason()).isNull();
	}

	@Test
	void abandoningInstanceReadsOldAndKeepsTheNewSideInSyncWhileAnotherInstanceReadsNew() {
		PhaseDecision decision = this.policy.decide(migration(Phase.ABANDON), null,
				List.of(member("peer", Phase.READ_NEW)), VERIFIED);
		assertThat(decision.effective()).isEqualTo(Phase.DUAL_WRITE);
		assertThat(decision.heldBackReason()).contains("instance peer (read-new)");
	}

	@Test
	void instanceAtReadNewStepsBackToTheOldSideBesideAnAbandoningInstance() {
		PhaseDecision decision = this.policy.decide(migration(Phase.READ_NEW), Phase.READ_NEW,
				List.of(new FleetMember("abandoning", "m", Phase.ABANDON, Phase.DUAL_WRITE, null, "1", "host", 1,
						Instant.now(), Instant.now(), true)),
				VERIFIED);
		assertThat(decision.effective()).isEqualTo(Phase.BACKFILL);
		assertThat(decision.effective().readsNew()).isFalse();
	}

	@Test
	void abandoningInstanceRoutesToTheOldSideOnlyOnceNoOtherInstanceNeedsTheNewSide() {
		FleetMember otherAbandoning = new FleetMember("other", "m", Phase.ABANDON, Phase.DUAL_WRITE, null, "1", "host",
				1, Instant.now(), Instant.now(), true);
		PhaseDecision decision = this.policy.decide(migration(Phase.ABANDON), Phase.DUAL_WRITE,
				List.of(otherAbandoning, member("old", Phase.EXPAND)), VERIFIED);
		assertThat(decision.effective()).isEqualTo(Phase.EXPAND);
		assertThat(decision.heldBackReason()).contains("waiting for instances other (abandon, at dual-write), old");
	}

	@Test
	void everyInstanceOfAnAbandonedMigrationRunsAtExpand() {
		MigrationState abandoned = new MigrationState("m", null, null, null, null, null, Instant.now(), "x", null);
		assertThat(this.policy.decide(migration(Phase.BACKFILL), Phase.BACKFILL, List.of(), abandoned).effective())
			.isEqualTo(Phase.EXPAND);
		assertThat(
				this.policy.decide(migration(Phase.ABANDON), null, List.of(member("peer", Phase.READ_NEW)), abandoned)
					.effective())
			.isEqualTo(Phase.EXPAND);
	}

	@Test
	void withoutTheSyncTriggerTheBackfillIsVerifiedAgainOnceBeforeTheFleetFirstReadsTheNewSide() {
		Instant verifiedAt = Instant.parse("2026-12-06T10:00:00Z");
		MigrationState verified = new MigrationState("m", null, null, verifiedAt, "fleet", null, null, null, null);
		MigrationDefinition readNew = migration(Phase.READ_NEW).toBuilder()
			.down("email", "email_address")
			.sync(SyncMode.APPLICATION)
			.build();
		List<FleetMember> atBackfill = List.of(member("other", Phase.BACKFILL));
		// first asked now, or since after the verification ran: again
		assertThat(this.policy.verifyAgainBeforeReadNew(readNew, atBackfill, verified, null, false)).isTrue();
		assertThat(
				this.policy.verifyAgainBeforeReadNew(readNew, atBackfill, verified, verifiedAt.plusSeconds(60), false))
			.isTrue();
		// verified since it asked: that verification saw what there was to see
		assertThat(
				this.policy.verifyAgainBeforeReadNew(readNew, atBackfill, verified, verifiedAt.minusSeconds(60), false))
			.isFalse();
		// an instance runs read-new now, or did once: the new side is the source of truth
		assertThat(this.policy.verifyAgainBeforeReadNew(readNew, List.of(member("ahead", Phase.READ_NEW)), verified,
				null, false))
			.isFalse();
		MigrationState readBefore = new MigrationState("m", null, null, verifiedAt, "fleet", null, null, null,
				verifiedAt.plusSeconds(1));
		assertThat(this.policy.verifyAgainBeforeReadNew(readNew, atBackfill, readBefore, null, false)).isFalse();
		// not verified yet, contracted, asking for less, or synced by a trigger: nothing
		// to do
		assertThat(this.policy.verifyAgainBeforeReadNew(readNew, atBackfill, NOTHING_DONE, null, false)).isFalse();
		assertThat(this.policy.verifyAgainBeforeReadNew(readNew.toBuilder().requestedPhase(Phase.CONTRACT).build(),
				atBackfill, CONTRACTED, null, false))
			.isFalse();
		assertThat(this.policy.verifyAgainBeforeReadNew(readNew.toBuilder().requestedPhase(Phase.BACKFILL).build(),
				atBackfill, verified, null, false))
			.isFalse();
		assertThat(this.policy.verifyAgainBeforeReadNew(migration(Phase.READ_NEW), atBackfill, verified, null, false))
			.isFalse();
		// nor a partition attached to a partitioned table since the verification
		assertThat(this.policy.verifyAgainBeforeReadNew(migration(Phase.READ_NEW), atBackfill, verified, null, true))
			.isTrue();
		// nothing syncs a cross-table migration's outside writers either
		MigrationDefinition crossTable = MigrationDefinition.builder("m")
			.table("users")
			.targetTable("user_emails")
			.up("email_address", "lower(email)")
			.down("email", "email_address")
			.requestedPhase(Phase.READ_NEW)
			.build();
		assertThat(this.policy.verifyAgainBeforeReadNew(crossTable, atBackfill, verified, null, false)).isTrue();
	}

	private static MigrationDefinition migration(Phase requested) {
		return MigrationDefinition.builder("m")
			.table("users")
			.up("email_address", "lower(email)")
			.requestedPhase(requested)
			.build();
	}

	private static FleetMember member(String id, Phase effective) {
		return new FleetMember(id, "m", effective, effective, null, "1", "host", 1, Instant.now(), Instant.now(), true);
	}

}
