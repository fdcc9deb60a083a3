package dev.zdm.testkit;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import dev.zdm.migration.Phase;

/**
 * Sets the phase a walk's instance requests on every walked migration the application
 * declares, and shortens the backfill's pacing for tests unless the walk sets it.
 */
final class PhaseInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {

	private static final Map<String, String> FAST_BACKFILL = Map.of("backfill.pause", "10ms",
			"backfill.throttle-check-interval", "200ms");

	private final Phase phase;

	private final Set<String> migrationIds;

	private final Set<String> walkProperties;

	PhaseInitializer(Phase phase, Set<String> migrationIds, Set<String> walkProperties) {
		this.phase = phase;
		this.migrationIds = Set.copyOf(migrationIds);
		this.walkProperties = Set.copyOf(walkProperties);
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
			String prefix = "zdm.migrations." + id + ".";
			FAST_BACKFILL.forEach((key, value) -> {
				if (!this.walkProperties.contains(prefix + key)) {
					properties.put(prefix + key, value);
				}
			});
			properties.put(prefix + "phase", this.phase.value());
		}
		environment.getPropertySources().addFirst(new MapPropertySource("zdmWalk", properties));
	}

	private static List<String> declared(ConfigurableEnvironment environment) {
		return Binder.get(environment)
			.bind("zdm.migrations", Bindable.mapOf(String.class, Object.class))
			.map((migrations) -> List.copyOf(migrations.keySet()))
			.orElse(List.of());
	}

}
