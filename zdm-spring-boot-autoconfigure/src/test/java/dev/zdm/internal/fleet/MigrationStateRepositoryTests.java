package dev.zdm.internal.fleet;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link MigrationStateRepository}'s record of why a verification no longer
 * holds.
 */
class MigrationStateRepositoryTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static MigrationStateRepository states;

	@BeforeAll
	static void createTables() {
		new ZdmSchema(postgres.dataSource(), ZdmTables.DEFAULT).migrate();
		states = new MigrationStateRepository(postgres.dataSource());
	}

	@Test
	void eachFailedReverificationSaysWhatItFoundWhereTheFirstOnesReasonStayed() {
		states.register("again");
		states.markVerified("again", "a at backfill");
		states.failReverification("again", "56 rows still disagreed after 3 passes");
		assertThat(states.find("again").verificationVoidReason())
			.isEqualTo("re-verification failed: 56 rows still disagreed after 3 passes");
		// the next one found other rows: an operator reads what it found, not the first
		states.failReverification("again", "2 rows still disagreed after 3 passes");
		assertThat(states.find("again").isVerified()).isFalse();
		assertThat(states.find("again").verificationVoidReason())
			.isEqualTo("re-verification failed: 2 rows still disagreed after 3 passes");
	}

	@Test
	void aFailedReverificationLeavesTheReasonOfAnotherVoidAlone() {
		states.register("voided");
		states.markVerified("voided", "a at backfill");
		assertThat(states.voidVerification("voided", "instance b went back to expand")).isTrue();
		states.failReverification("voided", "2 rows still disagreed after 3 passes");
		assertThat(states.find("voided").verificationVoidReason()).isEqualTo("instance b went back to expand");
	}

}
