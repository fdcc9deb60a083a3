package dev.zdm.jpa;

import org.junit.jupiter.api.Test;

import dev.zdm.jpa.members.MemberRepository;
import dev.zdm.migration.Phase;
import dev.zdm.testkit.PhaseWalk;
import dev.zdm.testkit.PhaseWalkFailure;
import dev.zdm.testkit.PostgresSource;
import dev.zdm.testkit.ZdmTest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests for the test kit's agreement check with {@code sync: application} and an
 * {@code @DynamicUpdate} entity: a partial update of an existing row writes the new
 * columns of the old columns it changes, and leaves the others to the backfill.
 */
@ZdmTest(postgres = PostgresSource.EMBEDDED)
class JpaApplicationSyncWalkTests {

	@Test
	void aPartialUpdateOfAnExistingRowLeavesTheOtherNewColumnsToTheBackfill(PhaseWalk walk) {
		members(walk).scenario((step) -> {
			if (step.phase() == Phase.DUAL_WRITE) {
				// points and points_total in one statement; email_address stays null
				// until the backfill reaches the row
				long id = step.jdbc().queryForObject("SELECT max(id) FROM members", Long.class);
				step.getBean(MemberRepository.class).updatePoints(id, 7);
				assertThat(step.jdbc().queryForMap("SELECT points_total, email_address FROM members WHERE id = ?", id))
					.containsEntry("points_total", 7L)
					.containsEntry("email_address", null);
			}
		}).run();
		assertThat(walk.database()
			.jdbc()
			.queryForObject("SELECT count(*) FROM members WHERE email_address IS NULL OR points_total IS NULL",
					Integer.class))
			.isZero();
	}

	@Test
	void anUpdateOfAnOldColumnWithoutItsNewOneStillFailsAtDualWrite(PhaseWalk walk) {
		assertThatExceptionOfType(PhaseWalkFailure.class).isThrownBy(() -> members(walk).scenario((step) -> {
			if (step.phase() == Phase.DUAL_WRITE) {
				step.jdbc()
					.update("UPDATE members SET email = 'Changed@Example.com', points_total = points "
							+ "WHERE id = (SELECT min(id) FROM members)");
			}
		}).run())
			.satisfies((failure) -> assertThat(failure.getPhase()).isEqualTo(Phase.DUAL_WRITE))
			.withMessageContaining("email_address=null but up lower(email) gives 'changed@example.com'");
	}

	private static PhaseWalk members(PhaseWalk walk) {
		return walk.application(JpaServiceApplication.class)
			.migrations("members-email")
			.property("zdm.migrations.members-email.sync", "application")
			.beforeExpand((jdbc) -> jdbc.update("INSERT INTO members (name, email, points) SELECT 'M ' || i, "
					+ "'m' || i || '@example.com', i FROM generate_series(1, 50) AS i"));
	}

}
