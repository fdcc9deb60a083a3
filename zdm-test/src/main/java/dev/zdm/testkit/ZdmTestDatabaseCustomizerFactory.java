package dev.zdm.testkit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.support.DefaultSingletonBeanRegistry;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;
import org.springframework.test.context.ContextConfigurationAttributes;
import org.springframework.test.context.ContextCustomizer;
import org.springframework.test.context.ContextCustomizerFactory;
import org.springframework.test.context.MergedContextConfiguration;
import org.springframework.test.context.TestContextAnnotationUtils;

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
			context.getEnvironment()
				.getPropertySources()
				.addFirst(new MapPropertySource("zdmTestDatabase", properties));
			// registered before every bean of the context, so destroyed after all of them
			// (zdm's own leave of the fleet included)
			if (context.getBeanFactory() instanceof DefaultSingletonBeanRegistry registry) {
				registry.registerDisposableBean("zdmTestDatabase", database::close);
			}
		}

	}

}
