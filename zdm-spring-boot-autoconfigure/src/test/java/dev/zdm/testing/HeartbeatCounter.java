package dev.zdm.testing;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStatus;

import static org.awaitility.Awaitility.await;

/**
 * A participant that counts heartbeats, so that a test can wait until the participants
 * before it have had their chance to act, instead of sleeping: placed last among a
 * controller's participants, it is told of a heartbeat after every other one. It counts
 * one call per declared migration and heartbeat.
 */
public class HeartbeatCounter implements MigrationParticipant {

	private final AtomicLong heartbeats = new AtomicLong();

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		this.heartbeats.incrementAndGet();
	}

	/**
	 * Return the heartbeats counted so far.
	 * @return the count
	 */
	public long heartbeats() {
		return this.heartbeats.get();
	}

	/**
	 * Wait until the controller has heartbeated the given number of times more, each with
	 * the participants before this one.
	 * @param count how many more heartbeats
	 */
	public void awaitHeartbeats(int count) {
		long target = this.heartbeats.get() + count;
		await().atMost(Duration.ofSeconds(30))
			.pollInterval(Duration.ofMillis(10))
			.until(() -> this.heartbeats.get() >= target);
	}

}
