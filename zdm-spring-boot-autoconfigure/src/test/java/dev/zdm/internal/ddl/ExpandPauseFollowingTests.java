package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for how an instance follows the fleet's pause of an expand ({@link ExpandPause})
 * against a real PostgreSQL, when its background read of the pause and its endpoint's
 * pause or resume interleave.
 */
class ExpandPauseFollowingTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final String WATCHER = "pause-watcher";

	@Test
	void readOfThePauseTakenBeforeThisInstancePausesItDoesNotUndoThePause() throws Exception {
		Interleaving interleaving = new Interleaving("before-pause");
		interleaving.readThenAct((pause, job) -> pause.pause(job));
		assertThat(interleaving.job.progress().pause()).as("the pause as this instance follows it").isNotNull();
		assertThat(interleaving.job.pauseRequested()).isTrue();
		interleaving.pause.destroy();
	}

	@Test
	void readOfThePauseTakenBeforeThisInstanceResumesItDoesNotPauseAgain() throws Exception {
		Interleaving interleaving = new Interleaving("before-resume");
		interleaving.pause.pause(interleaving.job);
		interleaving.readThenAct((pause, job) -> pause.resume(job.migration().id(), job));
		assertThat(interleaving.job.progress().pause()).as("the pause as this instance follows it").isNull();
		assertThat(interleaving.job.pauseRequested()).isFalse();
		interleaving.pause.destroy();
	}

	/**
	 * An instance's job and pause, whose background read of the pause ({@code refresh},
	 * on the watcher thread) is held between reading the table and following what it
	 * read, while the endpoint's action runs.
	 */
	private static final class Interleaving {

		private final CountDownLatch read = new CountDownLatch(1);

		private final CountDownLatch release = new CountDownLatch(1);

		private final ExpandJob job;

		private final ExpandPause pause;

		Interleaving(String id) {
			new ZdmSchema(postgres.dataSource()).migrate();
			new MigrationStateRepository(postgres.dataSource()).register(id);
			DdlHistoryRepository history = new DdlHistoryRepository(postgres.dataSource()) {

				@Override
				public @Nullable DdlPause findPause(String migrationId, DdlStep step) {
					DdlPause found = super.findPause(migrationId, step);
					if (Thread.currentThread().getName().equals(WATCHER)) {
						Interleaving.this.read.countDown();
						try {
							Interleaving.this.release.await(30, TimeUnit.SECONDS);
						}
						catch (InterruptedException ex) {
							Thread.currentThread().interrupt();
						}
					}
					return found;
				}

			};
			this.pause = new ExpandPause(postgres.dataSource(), history,
					new InstanceInfo("pausing", null, "localhost", 1));
			this.job = new ExpandJob(MigrationDefinition.builder(id).table("accounts").build(), true,
					Duration.ofMinutes(10));
		}

		/**
		 * Let the watcher read the pause, run the endpoint's action before it follows
		 * what it read (or, if the action waits for the read to be followed first, until
		 * it waits), then let the watcher go on.
		 */
		void readThenAct(Action action) throws InterruptedException {
			Thread watcher = new Thread(() -> this.pause.refresh(this.job), WATCHER);
			watcher.start();
			assertThat(this.read.await(30, TimeUnit.SECONDS)).isTrue();
			Thread endpoint = new Thread(() -> action.act(this.pause, this.job), "endpoint");
			endpoint.start();
			await().atMost(Duration.ofSeconds(30))
				.until(() -> !endpoint.isAlive() || endpoint.getState() == Thread.State.BLOCKED);
			this.release.countDown();
			watcher.join(30_000);
			endpoint.join(30_000);
			assertThat(watcher.isAlive()).isFalse();
			assertThat(endpoint.isAlive()).isFalse();
		}

	}

	private interface Action {

		void act(ExpandPause pause, ExpandJob job);

	}

}
