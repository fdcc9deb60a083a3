package dev.zdm.internal.ddl;

import java.time.Duration;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.migration.MigrationDefinition;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for what an {@link ExpandJob} shows of itself.
 */
@Tag("no-database")
class ExpandJobTests {

	@Test
	void errorOfAFailedTryIsShownWhileRetryingAndGoneOnceTheExpandIsDone() {
		MigrationDefinition migration = MigrationDefinition.builder("orders-total")
			.table("public.orders")
			.up("total_cents", "total * 100")
			.down("total", "total_cents / 100")
			.build();
		ExpandJob job = new ExpandJob(migration, false, Duration.ofMinutes(5));
		job.failed("Connection is closed (statement: ALTER TABLE orders ADD COLUMN total_cents bigint)");
		assertThat(job.progress().state()).isEqualTo(ExpandProgress.State.RETRYING);
		assertThat(job.progress().lastError()).startsWith("Connection is closed");
		job.done();
		assertThat(job.progress().state()).isEqualTo(ExpandProgress.State.DONE);
		assertThat(job.progress().lastError()).isNull();
	}

}
