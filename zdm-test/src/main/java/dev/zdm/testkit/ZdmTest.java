package dev.zdm.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.ImportAutoConfiguration;

/**
 * A test class that walks an application's migrations through their phases on a real
 * PostgreSQL. Its test methods declare a {@link PhaseWalk} parameter (or a
 * {@link ZdmDatabase}), each backed by a database of its own: <pre class="code">
 * &#64;ZdmTest
 * class CustomerMigrationTests {
 *
 *     &#64;Test
 *     void walksEveryPhase(PhaseWalk walk) {
 *         walk.application(CustomerApplication.class).scenario((step) -&gt; {
 *             CustomerRepository customers = step.getBean(CustomerRepository.class);
 *             // create, read, update and delete, with assertions
 *         }).run();
 *     }
 *
 * }
 * </pre> On a {@code @SpringBootTest} class, it also gives the test's application context
 * a database of the kit's own: the context's {@code spring.datasource.*} point there,
 * whatever the application's configuration says, so that the test never reaches a
 * database the configuration names, and the tests get the context once it runs at the
 * phases its configuration requests. On a slice ({@code @JdbcTest},
 * {@code @DataJdbcTest}, {@code @DataJpaTest}) it adds zdm's auto-configuration, which
 * the slice leaves out, and keeps the slice from replacing the kit's database with an
 * embedded one of its own.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(ZdmExtension.class)
@ImportAutoConfiguration
public @interface ZdmTest {

	/**
	 * Where PostgreSQL comes from: by default Testcontainers when Docker is available,
	 * else embedded.
	 * @return the source
	 */
	PostgresSource postgres() default PostgresSource.AUTO;

	/**
	 * The container image Testcontainers runs.
	 * @return the image
	 */
	String image() default ZdmDatabases.DEFAULT_IMAGE;

}
