package dev.zdm.internal.ddl;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;

import dev.zdm.internal.ddl.script.DdlStep;
import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * The operator's pause of a migration's expand DDL for the whole fleet, recorded in
 * {@code zdm_ddl_pause}: while it is in force no instance starts or takes the expand
 * over, and the instance running it stops at the next safe point. Each instance that
 * waits for the expand reads the pause every poll interval, and cancels its statement if
 * that statement waits for its lock.
 */
public class ExpandPause implements DisposableBean {

	private static final Log logger = LogFactory.getLog(ExpandPause.class);

	private final DataSource dataSource;

	private final DdlHistoryRepository history;

	private final InstanceInfo instance;

	private final ScheduledExecutorService watcher = Executors.newSingleThreadScheduledExecutor((runnable) -> {
		Thread thread = new Thread(runnable, "zdm-pause-watch");
		thread.setDaemon(true);
		return thread;
	});

	/**
	 * Create the pause.
	 * @param dataSource where zdm's DDL sessions are opened (the application's data
	 * source, or one for {@code zdm.ddl.user}), to cancel a waiting statement as their
	 * role
	 * @param history where the pause is recorded
	 * @param instance this instance, recorded as the one that paused
	 */
	public ExpandPause(DataSource dataSource, DdlHistoryRepository history, InstanceInfo instance) {
		this.dataSource = dataSource;
		this.history = history;
		this.instance = instance;
	}

	/**
	 * Refuse to run a migration's expand at start-up while it is paused: the instance
	 * could not start until it is resumed.
	 * @param migrationId the migration
	 * @throws ZdmConfigurationException if the expand is paused
	 */
	void refuseAtStartupIfPaused(String migrationId) {
		DdlPause pause = this.history.findPause(migrationId, DdlStep.EXPAND);
		if (pause != null) {
			throw new ZdmConfigurationException(migrationId,
					"its expand DDL is not done and is paused for the whole fleet (" + pause.describe()
							+ "), so this instance, which runs it at start-up (zdm.ddl.expand-at-startup=true), "
							+ "cannot start; nothing has run",
					"Resume the expand with POST /actuator/zdm/" + migrationId + "/expand/resume on a running instance "
							+ "(or " + this.history.tables().qualify("DELETE FROM zdm_ddl_pause")
							+ " WHERE migration_id = '" + migrationId
							+ "'), then start again; or start without zdm.ddl.expand-at-startup.");
		}
	}

	/**
	 * Pause a job's expand for the whole fleet.
	 * @param job the job
	 */
	void pause(ExpandJob job) {
		synchronized (job.pauseFollowing) {
			DdlPause pause = this.history.pause(job.migration().id(), DdlStep.EXPAND, this.instance.instanceId());
			job.pausedBy(pause);
		}
	}

	/**
	 * Resume a migration's expand for the whole fleet.
	 * @param migrationId the migration
	 * @param job this instance's job of the migration, which follows the resume at once,
	 * or {@code null}
	 * @return {@code true} if it was paused
	 */
	boolean resume(String migrationId, @Nullable ExpandJob job) {
		if (job == null) {
			return this.history.resume(migrationId, DdlStep.EXPAND);
		}
		synchronized (job.pauseFollowing) {
			boolean resumed = this.history.resume(migrationId, DdlStep.EXPAND);
			job.pausedBy(null);
			return resumed;
		}
	}

	/**
	 * Follow the pause while a job runs in the background: every poll interval, read it
	 * and cancel the job's statement that waits for its lock while it is in force.
	 * @param job the job
	 * @param pollInterval how often
	 */
	void watch(ExpandJob job, Duration pollInterval) {
		long poll = pollInterval.toMillis();
		job.pauseWatch = this.watcher.scheduleWithFixedDelay(() -> cancelIfPaused(job), poll, poll,
				TimeUnit.MILLISECONDS);
	}

	/**
	 * Read the pause into a job. A failed read keeps what was read last: the next read
	 * follows the pause.
	 * @param job the job
	 */
	void refresh(ExpandJob job) {
		// Read and followed under the lock the endpoint's pause and resume take: a read
		// from before one of them, followed after it, would undo it here until the next
		// read.
		synchronized (job.pauseFollowing) {
			try {
				job.pausedBy(this.history.findPause(job.migration().id(), DdlStep.EXPAND));
			}
			catch (RuntimeException ex) {
				logger.debug(
						"zdm: could not read whether the expand of migration '" + job.migration().id() + "' is paused",
						ex);
			}
		}
	}

	private void cancelIfPaused(ExpandJob job) {
		if (job.isDone() || job.shutdownRequested()) {
			return;
		}
		refresh(job);
		DdlSession session = job.session;
		try {
			if (job.pauseRequested() && session != null && session.cancelIfWaitingForLock(this.dataSource)) {
				logger.info("zdm: cancelled the expand statement of migration '" + job.migration().id()
						+ "' that waited for its lock, as the expand is paused");
			}
		}
		catch (RuntimeException ex) {
			// A scheduled task ends on an exception: keep watching.
			logger.debug("zdm: could not cancel the expand statement of migration '" + job.migration().id() + "'", ex);
		}
	}

	@Override
	public void destroy() {
		this.watcher.shutdownNow();
	}

}
