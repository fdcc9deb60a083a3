package dev.zdm.internal.dualwrite;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ReflectionUtils;

import dev.zdm.dualwrite.ZdmRead;
import dev.zdm.dualwrite.ZdmWrite;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * Tells the reads of a repository interface from its writes: by {@link ZdmRead @ZdmRead}
 * and {@link ZdmWrite @ZdmWrite}, else by the method's name. A method that cannot be told
 * is refused at start-up.
 */
public final class RepositoryMethods {

	/** Name prefixes of reads, as in Spring Data. */
	static final List<String> READ_PREFIXES = List.of("find", "get", "read", "query", "search", "stream", "count",
			"exists", "list", "load", "fetch", "is", "has");

	/** Name prefixes of writes. */
	static final List<String> WRITE_PREFIXES = List.of("save", "insert", "update", "upsert", "delete", "remove",
			"create", "add", "put", "merge", "store", "persist", "set");

	private RepositoryMethods() {
	}

	/**
	 * Classify every method of a repository interface that the routing bean must route.
	 * Default methods are included only when annotated: otherwise their body runs and
	 * routes the calls it makes.
	 * @param repository the repository interface
	 * @param migrationId the migration, for messages
	 * @return each routed method with its access
	 * @throws ZdmConfigurationException if a method is unclassified or annotated as both
	 */
	static Map<Method, Access> classify(Class<?> repository, String migrationId) {
		Map<Method, Access> routes = new LinkedHashMap<>();
		for (Method method : repository.getMethods()) {
			if (Modifier.isStatic(method.getModifiers()) || ReflectionUtils.isObjectMethod(method)) {
				continue;
			}
			Access access = classify(repository, method, migrationId);
			if (access != null) {
				routes.put(method, access);
			}
		}
		return routes;
	}

	private static @Nullable Access classify(Class<?> repository, Method method, String migrationId) {
		boolean read = AnnotatedElementUtils.hasAnnotation(method, ZdmRead.class);
		boolean write = AnnotatedElementUtils.hasAnnotation(method, ZdmWrite.class);
		if (read && write) {
			throw new ZdmConfigurationException(
					migrationId, "repository method " + describe(repository, method)
							+ " is annotated with both @ZdmRead and " + "@ZdmWrite",
					"Keep the one that says what the method does.");
		}
		if (read || write) {
			return read ? Access.READ : Access.WRITE;
		}
		if (method.isDefault()) {
			return null;
		}
		if (hasPrefix(method.getName(), READ_PREFIXES)) {
			return Access.READ;
		}
		if (hasPrefix(method.getName(), WRITE_PREFIXES)) {
			return Access.WRITE;
		}
		throw new ZdmConfigurationException(migrationId,
				"repository method " + describe(repository, method) + " cannot be routed: it is not annotated "
						+ "with @ZdmRead or @ZdmWrite, and its name does not start with a read prefix ("
						+ String.join(", ", READ_PREFIXES) + ") or a write prefix (" + String.join(", ", WRITE_PREFIXES)
						+ ")",
				"Annotate " + method.getName() + " with @ZdmRead or @ZdmWrite (dev.zdm.dualwrite), or rename it.");
	}

	private static boolean hasPrefix(String name, List<String> prefixes) {
		for (String prefix : prefixes) {
			if (name.equals(prefix) || (name.startsWith(prefix) && name.length() > prefix.length()
					&& !Character.isLowerCase(name.charAt(prefix.length())))) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Describe a method for messages.
	 * @param repository the repository interface
	 * @param method the method
	 * @return for example {@code com.example.Users.frobnicate(long)}
	 */
	static String describe(Class<?> repository, Method method) {
		return repository.getName() + "." + method.getName() + "("
				+ Arrays.stream(method.getParameterTypes()).map(Class::getSimpleName).collect(Collectors.joining(", "))
				+ ")";
	}

	/**
	 * What a repository method does to the data.
	 */
	enum Access {

		/** Reads only: called on the side the phase reads from. */
		READ,

		/** Writes: called on the source of truth, the other side kept in sync. */
		WRITE

	}

}
