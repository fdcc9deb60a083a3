package dev.zdm.autoconfigure;

import java.beans.PropertyDescriptor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

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
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;

import dev.zdm.internal.catalog.NearestName;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Refuses a {@code zdm.migrations.<id>.*} property that no setting of a migration takes,
 * such as a misspelt {@code phse}. Spring Boot would leave it out silently, and a
 * misspelt {@code phase} would request the default phase, {@code expand}, so the deploy
 * would take the fleet back instead of forward. Refuses as well any other {@code zdm.*}
 * property no setting takes, such as {@code zdm.enable=false}, which would leave zdm on.
 */
final class MigrationPropertyNames {

	private static final String ROOT = "zdm";

	private static final String PREFIX = ROOT + ".migrations";

	// what a migration id may hold, and Spring Boot's binding keeps in a map key
	private static final Pattern ID_CHARACTERS = Pattern.compile("[A-Za-z0-9_-]+");

	private MigrationPropertyNames() {
	}

	static void check(Environment environment) {
		checkIds(environment);
		checkMigrations(environment);
		checkOthers(environment);
	}

	/**
	 * Refuse a migration id as written that is not a valid one: Spring Boot's binding
	 * drops the characters a map key cannot hold ({@code zdm.migrations.m x!.table}
	 * becomes migration {@code mx}), so the id zdm would record and the one the user
	 * wrote would differ. Read from the property sources' own names, before binding; not
	 * from environment variables, whose names cannot hold such characters anyway.
	 */
	private static void checkIds(Environment environment) {
		if (!(environment instanceof ConfigurableEnvironment configurable)) {
			return;
		}
		for (PropertySource<?> source : configurable.getPropertySources()) {
			if (!(source instanceof EnumerablePropertySource<?> enumerable)
					|| StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME.equals(source.getName())) {
				continue;
			}
			for (String name : enumerable.getPropertyNames()) {
				if (!name.regionMatches(true, 0, PREFIX + ".", 0, PREFIX.length() + 1)) {
					continue;
				}
				String rest = name.substring(PREFIX.length() + 1);
				String id = rest.startsWith("[") && rest.indexOf(']') > 0 ? rest.substring(1, rest.indexOf(']'))
						: rest.substring(0, (rest.indexOf('.') >= 0) ? rest.indexOf('.') : rest.length());
				// a long id is refused once bound, where it is shown shortened
				if (!ID_CHARACTERS.matcher(id).matches()) {
					throw new ZdmConfigurationException(null,
							"'" + id + "' is not a valid migration id (property " + name + ", from " + source.getName()
									+ "); Spring Boot would bind it under another id",
							MigrationDefinitions.INVALID_ID_ACTION);
				}
			}
		}
	}

	private static void checkMigrations(Environment environment) {
		ConfigurationProperty unknown = firstUnbound(environment, PREFIX,
				Bindable.mapOf(String.class, ZdmMigrationProperties.class),
				new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
		if (unknown != null) {
			throw refusal(unknown);
		}
	}

	/**
	 * Refuse a {@code zdm.*} property outside {@code zdm.migrations} that no setting
	 * takes, such as {@code zdm.enable}: from the application's configuration, its
	 * command line and test properties, not from environment variables or JVM system
	 * properties, whose names other tools may share ({@code ZDM_HOME}; zdm's own test
	 * support reads {@code zdm.test.*}).
	 */
	private static void checkOthers(Environment environment) {
		ConfigurationProperty unknown = firstUnbound(environment, ROOT, Bindable.of(ZdmProperties.class),
				new NoUnboundElementsBindHandler(BindHandler.DEFAULT, MigrationPropertyNames::checked));
		if (unknown != null) {
			throw unknownSetting(unknown);
		}
	}

	// the first property, by name, under the prefix that the binding leaves unbound
	private static @Nullable ConfigurationProperty firstUnbound(Environment environment, String prefix,
			Bindable<?> target, BindHandler handler) {
		try {
			Binder.get(environment).bind(prefix, target, handler);
			return null;
		}
		catch (BindException ex) {
			UnboundConfigurationPropertiesException unbound = unbound(ex);
			// none: a value that does not convert, reported by Spring Boot's binding
			return (unbound != null) ? unbound.getUnboundProperties()
				.stream()
				.min(Comparator.comparing(ConfigurationProperty::getName))
				.orElse(null) : null;
		}
	}

	private static boolean checked(ConfigurationPropertySource source) {
		Object underlying = source.getUnderlyingSource();
		if (underlying instanceof PropertySource<?> propertySource) {
			String name = propertySource.getName();
			return !StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME.equals(name)
					&& !StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME.equals(name);
		}
		return true;
	}

	private static ZdmConfigurationException unknownSetting(ConfigurationProperty property) {
		ConfigurationPropertyName name = property.getName();
		String origin = (property.getOrigin() != null) ? " (" + property.getOrigin() + ")" : "";
		// the settings of the group the unknown element is in: zdm's own, or those of
		// zdm.fleet, zdm.ddl, ...
		Class<?> group = ZdmProperties.class;
		StringBuilder prefix = new StringBuilder(ROOT);
		int element = 1;
		while (element < name.getNumberOfElements() - 1) {
			String child = name.getElement(element, ConfigurationPropertyName.Form.DASHED);
			Class<?> type = settings(group).contains(child) ? propertyType(group, child) : null;
			if (type == null || BeanUtils.isSimpleValueType(type) || type.getName().startsWith("java.")) {
				break;
			}
			group = type;
			prefix.append('.').append(child);
			element++;
		}
		List<String> settings = settings(group);
		String hint = NearestName.of(settings, name.getElement(element, ConfigurationPropertyName.Form.DASHED));
		String description = "unknown property " + name + origin + ": no setting of zdm has this name, so it would "
				+ "be ignored";
		String action = ((hint != null) ? "Did you mean " + prefix + "." + hint + "? " : "")
				+ "Correct the name or remove the property. The settings of " + prefix + " are "
				+ String.join(", ", settings) + " (see docs/configuration.md).";
		return new ZdmConfigurationException(null, description, action);
	}

	private static @Nullable Class<?> propertyType(Class<?> type, String dashedName) {
		return Arrays.stream(BeanUtils.getPropertyDescriptors(type))
			.filter((descriptor) -> DataObjectPropertyName.toDashedForm(descriptor.getName()).equals(dashedName))
			.map(PropertyDescriptor::getPropertyType)
			.findFirst()
			.orElse(null);
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
		return settings(ZdmMigrationProperties.class);
	}

	private static List<String> settings(Class<?> type) {
		return Arrays.stream(BeanUtils.getPropertyDescriptors(type))
			.map(PropertyDescriptor::getName)
			.filter((name) -> !name.equals("class"))
			.map(DataObjectPropertyName::toDashedForm)
			.toList();
	}

}
