package dev.zdm.testkit;

import org.jspecify.annotations.Nullable;

import org.springframework.context.ApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.Phase;

/**
 * One instance of the application at one phase of a walk, as a {@link PhaseScenario} sees
 * it.
 */
public final class PhaseStep {

	private final Phase phase;

	private final String instance;

	private final ApplicationContext context;

	private final @Nullable Integer port;

	private final ZdmDatabase database;

	PhaseStep(Phase phase, String instance, ApplicationContext context, @Nullable Integer port, ZdmDatabase database) {
		this.phase = phase;
		this.instance = instance;
		this.context = context;
		this.port = port;
		this.database = database;
	}

	/**
	 * Return the phase the instance runs at.
	 * @return the effective phase
	 */
	public Phase phase() {
		return this.phase;
	}

	/**
	 * Return the instance's name, for example {@code old} or {@code new} in a mixed
	 * fleet.
	 * @return the name
	 */
	public String instance() {
		return this.instance;
	}

	/**
	 * Return the instance's application context.
	 * @return the context
	 */
	public ApplicationContext context() {
		return this.context;
	}

	/**
	 * Return a bean of the instance's application context, for example the routed
	 * repository.
	 * @param <T> the bean's type
	 * @param type the bean's type
	 * @return the bean
	 */
	public <T> T getBean(Class<T> type) {
		return this.context.getBean(type);
	}

	/**
	 * Return the base URL of the instance's web server, for a client of its endpoints.
	 * @return for example {@code http://localhost:54321}
	 * @throws IllegalStateException if the application has no web server
	 */
	public String baseUrl() {
		if (this.port == null) {
			throw new IllegalStateException("The application at phase " + this.phase + " runs no web server");
		}
		return "http://localhost:" + this.port;
	}

	/**
	 * Return a {@link JdbcTemplate} on the walk's database, outside the application.
	 * @return the template
	 */
	public JdbcTemplate jdbc() {
		return this.database.jdbc();
	}

	@Override
	public String toString() {
		return "phase " + this.phase + " on instance " + this.instance;
	}

}
