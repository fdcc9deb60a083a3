package dev.zdm.testkit;

import java.lang.annotation.Annotation;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;
import org.testcontainers.containers.JdbcDatabaseContainer;

import org.springframework.util.ReflectionUtils;

/**
 * Finds the PostgreSQL container a test class defines for Spring Boot, so that the kit
 * walks on it rather than on a container of its own: a static field annotated
 * {@code @ServiceConnection} in the test class (or a superclass or enclosing class), or a
 * static container field of a class named by {@code @ImportTestcontainers}. The
 * annotations are recognized by name, so {@code spring-boot-testcontainers} is needed
 * only where a test uses them. Loaded only when Testcontainers is on the class path.
 */
final class UserContainers {

	private static final String SERVICE_CONNECTION = "org.springframework.boot.testcontainers.service.connection.ServiceConnection";

	private static final String IMPORT_TESTCONTAINERS = "org.springframework.boot.testcontainers.context.ImportTestcontainers";

	private UserContainers() {
	}

	/**
	 * Return the PostgreSQL container a test class defines.
	 * @param testClass the test class
	 * @return the definition, or {@code null} if the class defines none
	 */
	static @Nullable Definition find(Class<?> testClass) {
		Set<Class<?>> declaring = new LinkedHashSet<>();
		Set<Class<?>> imported = new LinkedHashSet<>();
		for (Class<?> type = testClass; type != null; type = type.getEnclosingClass()) {
			for (Class<?> candidate = type; candidate != null
					&& candidate != Object.class; candidate = candidate.getSuperclass()) {
				declaring.add(candidate);
				Annotation importing = annotation(candidate.getAnnotations(), IMPORT_TESTCONTAINERS);
				if (importing != null) {
					Class<?>[] classes = importedClasses(importing);
					imported.addAll((classes.length > 0) ? List.of(classes) : List.of(candidate));
				}
			}
		}
		List<Class<?>> all = new ArrayList<>(declaring);
		all.addAll(imported);
		for (Class<?> type : all) {
			for (Field field : type.getDeclaredFields()) {
				boolean serviceConnection = annotation(field.getAnnotations(), SERVICE_CONNECTION) != null;
				if (serviceConnection || imported.contains(type)) {
					Definition definition = definition(type, field, serviceConnection);
					if (definition != null) {
						return definition;
					}
				}
			}
		}
		return null;
	}

	private static @Nullable Definition definition(Class<?> type, Field field, boolean serviceConnection) {
		if (!Modifier.isStatic(field.getModifiers())
				|| !JdbcDatabaseContainer.class.isAssignableFrom(field.getType())) {
			return null;
		}
		ReflectionUtils.makeAccessible(field);
		Object value = ReflectionUtils.getField(field, null);
		if (!(value instanceof JdbcDatabaseContainer<?> container)
				|| !container.getDriverClassName().contains("postgresql")) {
			return null;
		}
		String name = type.getName().substring(type.getName().lastIndexOf('.') + 1).replace('$', '.') + "."
				+ field.getName();
		return new Definition(container,
				(serviceConnection ? "the @ServiceConnection container " : "the @ImportTestcontainers container ")
						+ name);
	}

	private static @Nullable Annotation annotation(Annotation[] annotations, String name) {
		for (Annotation annotation : annotations) {
			if (annotation.annotationType().getName().equals(name)) {
				return annotation;
			}
		}
		return null;
	}

	private static Class<?>[] importedClasses(Annotation importing) {
		Method value = ReflectionUtils.findMethod(importing.annotationType(), "value");
		Object classes = (value != null) ? ReflectionUtils.invokeMethod(value, importing) : null;
		return (classes instanceof Class<?>[] array) ? array : new Class<?>[0];
	}

	/**
	 * A PostgreSQL container a test class defines.
	 *
	 * @param container the container, started or not
	 * @param description where it is defined, for messages
	 */
	record Definition(JdbcDatabaseContainer<?> container, String description) {

		@Override
		public String toString() {
			return this.description + " (database " + this.container.getDatabaseName() + ", user "
					+ this.container.getUsername() + ")";
		}

	}

}
