package dev.zdm.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.TestTemplate;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test method run once at each phase, {@code expand} to {@code contract}, against the
 * application as it runs at that phase, on a database of its own; after each run zdm's
 * checks run as for {@link PhaseWalk#run()}. Parameters are beans of the application's
 * context, for example its repositories, or the {@link PhaseStep}: <pre class="code">
 * &#64;PhaseTest(application = CustomerApplication.class)
 * void customersCanBeCreatedAndRead(CustomerRepository customers, PhaseStep step) {
 *     Customer ada = customers.create("Ada", "Ada@Example.com");
 *     assertThat(customers.findById(ada.id())).isPresent();
 * }
 * </pre> Each phase is one invocation, named after the phase; once one fails, those after
 * it are skipped. Before each invocation the application starts at the phase, except at
 * {@code backfill}, where the instance of {@code dual-write} is moved on (see
 * {@link PhaseWalk#restartEveryPhase()}). The database comes from the test class's
 * {@link ZdmTest} settings, Testcontainers or embedded PostgreSQL.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@TestTemplate
@ExtendWith(PhaseTestExtension.class)
public @interface PhaseTest {

	/**
	 * The application to walk, typically its {@code @SpringBootApplication} class.
	 * @return the application's sources
	 */
	Class<?>[] application();

	/**
	 * The migrations to walk; by default every migration the application declares.
	 * @return the migrations' ids
	 */
	String[] migrations() default {};

	/**
	 * Properties of every instance, as {@code key=value}, overriding the application's
	 * configuration and the walk's timing.
	 * @return the properties
	 */
	String[] properties() default {};

	/**
	 * SQL scripts that insert the rows that exist before the migration, run once after
	 * the application's own schema migrations and before zdm's expand, as
	 * {@link PhaseWalk#beforeExpand(String...)} runs them; for example
	 * {@code classpath:seed/products.sql}.
	 * @return the scripts' locations
	 */
	String[] beforeExpand() default {};

	/**
	 * Whether to start a new instance at {@code backfill} too, where the walk otherwise
	 * moves the instance of {@code dual-write} on, as
	 * {@link PhaseWalk#restartEveryPhase()} does.
	 * @return {@code true} to start an instance at every phase
	 */
	boolean restartEveryPhase() default false;

}
