package dev.zdm.internal.fleet;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * An instance's leaving the fleet on a graceful stop, within a bound: with the database
 * down, the pool would otherwise hold the stop for its own connection timeout (30 s by
 * default), past many a platform's grace period.
 */
final class FleetLeave {

	private static final Log logger = LogFactory.getLog(FleetLeave.class);

	private static final AtomicInteger threadCounter = new AtomicInteger();

	/**
	 * The longest a graceful stop waits to leave the fleet.
	 */
	static final Duration BOUND = Duration.ofSeconds(5);

	private FleetLeave() {
	}

	/**
	 * Remove an instance from the fleet, waiting at most {@link #BOUND} (or the fleet
	 * timeout, if shorter): an instance that cannot leave drops out after the fleet
	 * timeout anyway.
	 * @param registry the fleet
	 * @param instanceId the instance leaving
	 * @param timeout the fleet timeout
	 */
	static void leave(FleetRegistry registry, String instanceId, Duration timeout) {
		Duration bound = (timeout.compareTo(BOUND) < 0) ? timeout : BOUND;
		CompletableFuture<Void> leaving = CompletableFuture.runAsync(() -> registry.leave(instanceId), (task) -> {
			Thread thread = new Thread(task, "zdm-leave-" + threadCounter.incrementAndGet());
			thread.setDaemon(true);
			thread.start();
		});
		try {
			leaving.get(bound.toMillis(), TimeUnit.MILLISECONDS);
			logger.info("zdm: instance " + instanceId + " left the fleet");
		}
		catch (TimeoutException ex) {
			logger.warn("zdm: instance " + instanceId + " could not leave the fleet within " + bound
					+ " (is the database reachable?); the instance drops out of it after " + timeout);
		}
		catch (ExecutionException ex) {
			Throwable cause = (ex.getCause() != null) ? ex.getCause() : ex;
			logger.warn("zdm: instance " + instanceId + " could not leave the fleet ("
					+ MigrationRuntime.describe(cause) + "); the instance drops out of it after " + timeout);
			logger.debug("zdm: leaving the fleet failed", cause);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

}
