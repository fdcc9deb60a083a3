package dev.zdm.testkit;

import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;

/**
 * Sets the phase a walk's instance requests on every walked migration the application
 * declares, and shortens the backfill's pacing for tests unless the walk sets it. In the
 * walk's first instance it adds the walk's {@link BeforeExpand} step, which zdm's phase
 * controller then waits for.
 */
final class PhaseInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {

	private static final Map<String, String> FAST_BACKFILL = Map.of("backfill.pause", "10ms",
			"backfill.throttle-check-interval", "200ms");

	private final Phase phase;

	private final Set<String> migrationIds;

	private static final String BEFORE_EXPAND_BEAN = "zdmWalkBeforeExpand";

	/** The name of the property source that holds the phase the instance requests. */
	static final String PROPERTY_SOURCE = "zdmWalk";

	static final String MIGRATIONS_PREFIX = "zdm.migrations.";

	static final String PHASE_SUFFIX = ".phase";

	private final Set<String> walkProperties;

	private final @Nullable BeforeExpand beforeExpand;

	PhaseInitializer(Phase phase, Set<String> migrationIds, Set<String> walkProperties,
			@Nullable BeforeExpand beforeExpand) {
		this.phase = phase;
		this.migrationIds = Set.copyOf(migrationIds);
		this.walkProperties = Set.copyOf(walkProperties);
		this.beforeExpand = beforeExpand;
	}

	@Override
	public void initialize(ConfigurableApplicationContext context) {
		ConfigurableEnvironment environment = context.getEnvironment();
		List<String> declared = declared(environment);
		// an id the application does not declare is left alone: the walk reports it with
		// the declared ones
		Collection<String> ids = this.migrationIds.isEmpty() ? declared
				: declared.stream().filter(this.migrationIds::contains).toList();
		Map<String, Object> properties = new LinkedHashMap<>();
		for (String id : ids) {
			String prefix = MIGRATIONS_PREFIX + id + ".";
			FAST_BACKFILL.forEach((key, value) -> {
				if (!this.walkProperties.contains(prefix + key)) {
					properties.put(prefix + key, value);
				}
			});
			properties.put(MIGRATIONS_PREFIX + id + PHASE_SUFFIX, this.phase.value());
		}
		environment.getPropertySources().addFirst(new MapPropertySource(PROPERTY_SOURCE, properties));
		if (this.beforeExpand != null) {
			addBeforeExpand(context, this.beforeExpand);
		}
	}

	private static void addBeforeExpand(ConfigurableApplicationContext context, BeforeExpand beforeExpand) {
		if (!(context instanceof GenericApplicationContext generic)) {
			throw new IllegalStateException("The walk's beforeExpand step needs a GenericApplicationContext, not a "
					+ context.getClass().getName());
		}
		generic.registerBean(BEFORE_EXPAND_BEAN, BeforeExpand.class, () -> beforeExpand);
		// BeforeExpandDetector orders the step after the application's database
		// initializers, for zdm's phase controller too where Spring Boot's
		// initialization ordering is in use; this covers an application without it
		context.addBeanFactoryPostProcessor((beanFactory) -> {
			for (String name : beanFactory.getBeanNamesForType(PhaseController.class, true, false)) {
				BeanDefinition definition = beanFactory.getBeanDefinition(name);
				String[] dependsOn = definition.getDependsOn();
				String[] merged = (dependsOn != null) ? Arrays.copyOf(dependsOn, dependsOn.length + 1) : new String[1];
				merged[merged.length - 1] = BEFORE_EXPAND_BEAN;
				definition.setDependsOn(merged);
			}
		});
	}

	private static List<String> declared(ConfigurableEnvironment environment) {
		return Binder.get(environment)
			.bind("zdm.migrations", Bindable.mapOf(String.class, Object.class))
			.map((migrations) -> List.copyOf(migrations.keySet()))
			.orElse(List.of());
	}

}
