package dev.zdm.testkit;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.support.DefaultSingletonBeanRegistry;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextRefreshedEvent;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.test.context.ContextConfigurationAttributes;
import org.springframework.test.context.ContextCustomizer;
import org.springframework.test.context.ContextCustomizerFactory;
import org.springframework.test.context.MergedContextConfiguration;
import org.springframework.test.context.TestContextAnnotationUtils;
import org.springframework.test.context.support.TestPropertySourceUtils;

import dev.zdm.internal.fleet.PhaseController;

/**
 * Points the application context of a Spring test class annotated with {@link ZdmTest} (a
 * {@code @SpringBootTest}, for example) at a database of the kit's own, as a service
 * connection would: the context's {@code spring.datasource.*} are the kit's database,
 * whatever the application's configuration says, so that such a test never joins the
 * fleet of a database the application's configuration names. A class that defines its own
 * PostgreSQL container ({@code @ServiceConnection}, {@code @ImportTestcontainers}) runs
 * on that container, as Spring Boot connects it. The database lives as long as the
 * context (Spring's test context cache shares it between test classes of the same
 * configuration) and is dropped after the context is closed.
 */
class ZdmTestDatabaseCustomizerFactory implements ContextCustomizerFactory {

	/** The fleet's timing shortened as for a walk's instances (see {@link PhaseWalk}). */
	static final Map<String, String> TEST_TIMING = Map.of("zdm.fleet.heartbeat-interval", "200ms", "zdm.fleet.timeout",
			"10s", "zdm.fleet.join-timeout", "5s");

	@Override
	public @Nullable ContextCustomizer createContextCustomizer(Class<?> testClass,
			List<ContextConfigurationAttributes> configAttributes) {
		ZdmTest settings = TestContextAnnotationUtils.findMergedAnnotation(testClass, ZdmTest.class);
		if (settings == null || ZdmDatabases.containerDefinition(testClass) != null) {
			return null;
		}
		return new DatabaseCustomizer(settings.postgres(), settings.image());
	}

	/**
	 * Gives the context a database of its own; equal for the same database settings, so
	 * that the context cache can share the context.
	 */
	private record DatabaseCustomizer(PostgresSource source, String image) implements ContextCustomizer {

		/**
		 * How long the context may take to reach its phases, as long as a walk's step.
		 */
		private static final Duration TIMEOUT = Duration.ofSeconds(90);

		@Override
		public void customizeContext(ConfigurableApplicationContext context, MergedContextConfiguration mergedConfig) {
			ZdmDatabase database = ZdmDatabases.create(this.source, this.image,
					mergedConfig.getTestClass().getSimpleName());
			// the same properties a walk's instances get (ZdmDatabase#springProperties)
			Map<String, Object> properties = new LinkedHashMap<>();
			for (String property : database.springProperties()) {
				int equals = property.indexOf('=');
				properties.put(property.substring(0, equals), property.substring(equals + 1));
			}
			// a slice's @AutoConfigureTestDatabase would put an embedded database of its
			// own
			// in place of the kit's
			properties.put("spring.test.database.replace", "none");
			MutablePropertySources sources = context.getEnvironment().getPropertySources();
			MapPropertySource kitsDatabase = new MapPropertySource("zdmTestDatabase", properties);
			sources.addFirst(kitsDatabase);
			// a @DynamicPropertySource's values go first too, by a customizer that may
			// run
			// after this one: the kit's database goes back above them once every
			// customizer has run, before any bean reads it (a test's dynamic
			// spring.datasource.url once ran zdm on the database it named)
			context.addBeanFactoryPostProcessor((beanFactory) -> {
				MutablePropertySources current = context.getEnvironment().getPropertySources();
				if (current.remove("zdmTestDatabase") != null) {
					current.addFirst(kitsDatabase);
				}
			});
			// the walks' timing, below the test's own properties
			MapPropertySource timing = new MapPropertySource("zdmTestTiming",
					new LinkedHashMap<String, Object>(TEST_TIMING));
			if (sources.contains(TestPropertySourceUtils.INLINED_PROPERTIES_PROPERTY_SOURCE_NAME)) {
				sources.addAfter(TestPropertySourceUtils.INLINED_PROPERTIES_PROPERTY_SOURCE_NAME, timing);
			}
			else {
				sources.addAfter("zdmTestDatabase", timing);
			}
			// registered before every bean of the context, so destroyed after all of them
			// (zdm's own leave of the fleet included)
			if (context.getBeanFactory() instanceof DefaultSingletonBeanRegistry registry) {
				registry.registerDisposableBean("zdmTestDatabase", database::close);
			}
			context.addApplicationListener(
					(ApplicationListener<ContextRefreshedEvent>) (event) -> awaitRequestedPhases(event));
		}

		/**
		 * Hand the context to the tests only once it runs every migration at the phase
		 * its configuration requests, as zdm's start-up on a fresh database takes it
		 * there one step at a time in the background.
		 */
		private static void awaitRequestedPhases(ContextRefreshedEvent event) {
			if (event.getApplicationContext().getParent() != null) {
				return;
			}
			Collection<PhaseController> controllers = event.getApplicationContext()
				.getBeansOfType(PhaseController.class, false, false)
				.values();
			long deadline = System.nanoTime() + TIMEOUT.toNanos();
			String unmet = PhaseArrival.unmet(controllers);
			while (unmet != null) {
				if (System.nanoTime() > deadline) {
					throw new IllegalStateException("zdm test kit: the application context did not reach the phases "
							+ "its configuration requests within " + TIMEOUT + ": " + unmet
							+ ". The context runs on a fresh database, where zdm's start-up takes it there one step "
							+ "at a time as it would take a new fleet; see the log for what held it back");
				}
				try {
					Thread.sleep(PhaseArrival.POLL.toMillis());
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					throw new IllegalStateException("zdm test kit: interrupted while " + unmet, ex);
				}
				unmet = PhaseArrival.unmet(controllers);
			}
		}

	}

}
