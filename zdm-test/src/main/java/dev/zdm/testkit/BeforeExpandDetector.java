package dev.zdm.testkit;

import java.util.Set;

import org.springframework.boot.sql.init.dependency.AbstractBeansOfTypeDatabaseInitializerDetector;
import org.springframework.boot.sql.init.dependency.DatabaseInitializerDetector;
import org.springframework.core.Ordered;

/**
 * Makes a walk's {@link BeforeExpand} step a database initializer that runs after every
 * other one (Flyway, Liquibase, {@code spring.sql.init}, ...): Spring Boot orders the
 * initializers of each {@link DatabaseInitializerDetector} after those of the detectors
 * before it, and zdm's phase controller depends on database initialization, so the step
 * sees the application's schema and runs before zdm's expand.
 */
class BeforeExpandDetector extends AbstractBeansOfTypeDatabaseInitializerDetector {

	@Override
	protected Set<Class<?>> getDatabaseInitializerBeanTypes() {
		return Set.of(BeforeExpand.class);
	}

	@Override
	public int getOrder() {
		return Ordered.LOWEST_PRECEDENCE;
	}

}
