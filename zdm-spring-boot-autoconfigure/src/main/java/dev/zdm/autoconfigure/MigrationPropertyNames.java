package dev.zdm.autoconfigure;

import java.beans.PropertyDescriptor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.BeanUtils;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.core.env.Environment;

import dev.zdm.migration.ZdmConfigurationException;

/**
 * Refuses a {@code zdm.migrations.<id>.*} property that no setting of a migration takes,
 * such as a misspelt {@code phse}. Spring Boot would leave it out silently, and a
 * misspelt {@code phase} would request the default phase, {@code expand}, so the deploy
 * would take the fleet back instead of forward.
 */
final class MigrationPropertyNames {

	private static final String PREFIX = "zdm.migrations";

	private MigrationPropertyNames() {
	}

	static void check(Environment environment) {
		try {
			Binder.get(environment)
				.bind(PREFIX, Bindable.mapOf(String.class, ZdmMigrationProperties.class),
						new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
		}
		catch (BindException ex) {
			UnboundConfigurationPropertiesException unbound = unbound(ex);
			if (unbound == null) {
				// a value that does not convert: Spring Boot's own binding reports it
				return;
			}
			throw refusal(unbound.getUnboundProperties()
				.stream()
				.min(Comparator.comparing(ConfigurationProperty::getName))
				.orElseThrow());
		}
	}

	private static @Nullable UnboundConfigurationPropertiesException unbound(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof UnboundConfigurationPropertiesException unbound) {
				return unbound;
			}
		}
		return null;
	}

	private static ZdmConfigurationException refusal(ConfigurationProperty property) {
		ConfigurationPropertyName name = property.getName();
		String id = (name.getNumberOfElements() > 2) ? name.getElement(2, ConfigurationPropertyName.Form.ORIGINAL)
				: null;
		String origin = (property.getOrigin() != null) ? " (" + property.getOrigin() + ")" : "";
		String description = "unknown property " + name + origin
				+ ": no setting of a migration has this name, so it would be ignored";
		List<String> settings = settings();
		String hint = (name.getNumberOfElements() == 4)
				? nearest(settings, name.getElement(3, ConfigurationPropertyName.Form.DASHED)) : null;
		String action = ((hint != null) ? "Did you mean zdm.migrations." + id + "." + hint + "? " : "")
				+ "Correct the name or remove the property. A migration's settings are " + String.join(", ", settings)
				+ " (see docs/configuration.md).";
		return new ZdmConfigurationException(id, description, action);
	}

	private static List<String> settings() {
		return Arrays.stream(BeanUtils.getPropertyDescriptors(ZdmMigrationProperties.class))
			.map(PropertyDescriptor::getName)
			.filter((name) -> !name.equals("class"))
			.map(DataObjectPropertyName::toDashedForm)
			.toList();
	}

	/**
	 * Return the candidate nearest to the name, within two edits, or {@code null}.
	 * @param candidates the names it may be
	 * @param name the name, perhaps misspelt
	 * @return the nearest candidate, or {@code null} if none is near
	 */
	static @Nullable String nearest(List<String> candidates, String name) {
		String nearest = null;
		int best = 3;
		for (String candidate : candidates) {
			int distance = distance(candidate, name);
			if (distance < best) {
				best = distance;
				nearest = candidate;
			}
		}
		return nearest;
	}

	private static int distance(String a, String b) {
		int[] previous = new int[b.length() + 1];
		int[] current = new int[b.length() + 1];
		for (int j = 0; j <= b.length(); j++) {
			previous[j] = j;
		}
		for (int i = 1; i <= a.length(); i++) {
			current[0] = i;
			for (int j = 1; j <= b.length(); j++) {
				int substitution = previous[j - 1] + ((a.charAt(i - 1) == b.charAt(j - 1)) ? 0 : 1);
				current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
			}
			int[] swap = previous;
			previous = current;
			current = swap;
		}
		return previous[b.length()];
	}

}
