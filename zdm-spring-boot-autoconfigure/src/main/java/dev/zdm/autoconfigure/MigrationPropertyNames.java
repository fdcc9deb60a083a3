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

import dev.zdm.internal.catalog.NearestName;
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
				? NearestName.of(settings, name.getElement(3, ConfigurationPropertyName.Form.DASHED)) : null;
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

}
