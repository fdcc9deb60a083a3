package dev.zdm.sample;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.springframework.boot.builder.SpringApplicationBuilder;

import dev.zdm.internal.fleet.MigrationParticipant;
import dev.zdm.internal.fleet.MigrationStatus;

import static org.awaitility.Awaitility.await;

/**
 * Counts an instance's heartbeats, so that a test can claim that nothing happened over a
 * number of the instance's heartbeats instead of over a sleep: registered as a bean
 * without an order, it is the last of the controller's participants, told of a heartbeat
 * after every other participant had its turn. It counts the heartbeats of one migration.
 */
final class InstanceHeartbeats implements MigrationParticipant {

	private final String migrationId;

	private final AtomicLong heartbeats = new AtomicLong();

	InstanceHeartbeats(String migrationId) {
		this.migrationId = migrationId;
	}

	/**
	 * Register this counter in the instance the builder starts.
	 * @param builder the instance's builder
	 * @return the builder
	 */
	SpringApplicationBuilder countIn(SpringApplicationBuilder builder) {
		return builder.initializers(
				(context) -> context.getBeanFactory().registerSingleton("instanceHeartbeats", InstanceHeartbeats.this));
	}

	@Override
	public void afterHeartbeat(MigrationStatus status) {
		if (status.migrationId().equals(this.migrationId)) {
			this.heartbeats.incrementAndGet();
		}
	}

	/**
	 * Wait until the instance has heartbeated the given number of times more.
	 * @param count how many more heartbeats
	 */
	void awaitMore(int count) {
		long target = this.heartbeats.get() + count;
		await().atMost(Duration.ofSeconds(60))
			.pollInterval(Duration.ofMillis(20))
			.until(() -> this.heartbeats.get() >= target);
	}

}
