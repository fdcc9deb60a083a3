package dev.zdm.testkit;

import java.sql.SQLException;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.util.function.ThrowingConsumer;

/**
 * A walk's {@link PhaseWalk#beforeExpand(ThrowingConsumer) beforeExpand} step, run once,
 * in the first instance of the walk, after the application's own schema migrations and
 * before zdm's phase controller starts (and with it the expand DDL and the sync trigger).
 * A bean of the instance's context, ordered by {@link BeforeExpandDetector}.
 */
final class BeforeExpand implements InitializingBean {

	private final ThrowingConsumer<JdbcTemplate> step;

	private final ZdmDatabase database;

	private final WalkTimes times;

	BeforeExpand(ThrowingConsumer<JdbcTemplate> step, ZdmDatabase database, WalkTimes times) {
		this.step = step;
		this.database = database;
		this.times = times;
	}

	@Override
	public void afterPropertiesSet() {
		long started = System.nanoTime();
		try {
			this.step.acceptWithException(this.database.jdbc());
		}
		catch (Exception ex) {
			throw new IllegalStateException("The walk's beforeExpand step failed: " + ex + (missingTable(ex)
					? ". It runs after the application's own schema migrations: if Flyway creates the table, add "
							+ "spring-boot-starter-flyway (in Spring Boot 4, flyway-core alone does not run the "
							+ "application's migrations), and check that the application's schema creates it"
					: ""), ex);
		}
		finally {
			this.times.add(WalkTimes.Activity.BEFORE_EXPAND, started);
		}
	}

	/**
	 * Whether the step failed on a table that does not exist (SQL state 42P01).
	 */
	private static boolean missingTable(Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLException sql && "42P01".equals(sql.getSQLState())) {
				return true;
			}
		}
		return false;
	}

}
