package dev.zdm.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads a module's API from its sources and compiled classes: the public types of given
 * packages, and the places where their public signatures mention a type of another
 * package prefix (zdm's {@code dev.zdm.internal}). For the structure tests of each
 * module.
 */
public final class ApiSurface {

	private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);

	private final Path sources;

	/**
	 * Create a reader of the sources under the given root.
	 * @param sources the source root, for example {@code src/main/java}
	 */
	public ApiSurface(Path sources) {
		this.sources = sources;
	}

	/**
	 * Return the fully qualified names of the public top-level types declared in the
	 * given packages (not their sub-packages).
	 * @param packages the packages
	 * @return the type names, sorted
	 */
	public Set<String> publicTypes(Set<String> packages) {
		Set<String> names = new TreeSet<>();
		try (Stream<Path> files = Files.walk(this.sources)) {
			for (Path file : files.filter((path) -> path.toString().endsWith(".java")).toList()) {
				String name = file.getFileName().toString().replace(".java", "");
				String source = Files.readString(file);
				Matcher matcher = PACKAGE.matcher(source);
				if (!name.equals("package-info") && matcher.find() && packages.contains(matcher.group(1))
						&& Pattern
							.compile("^public (final |abstract |sealed |non-sealed )*(class|interface|record|enum"
									+ "|@interface) " + name + "\\b", Pattern.MULTILINE)
							.matcher(source)
							.find()) {
					names.add(matcher.group(1) + "." + name);
				}
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return names;
	}

	/**
	 * Return every place where a public or protected signature of the given type (its
	 * supertypes, constructors, methods, fields, record components and nested public
	 * types) mentions a type whose name starts with the given prefix.
	 * @param type the type to read
	 * @param forbiddenPrefix the prefix, for example {@code "dev.zdm.internal."}
	 * @return one line per mention, empty when there is none
	 */
	public static List<String> mentions(Class<?> type, String forbiddenPrefix) {
		List<String> found = new ArrayList<>();
		collect(type, forbiddenPrefix, found);
		return found;
	}

	private static void collect(Class<?> type, String prefix, List<String> found) {
		check(type.getName() + " extends", type.getGenericSuperclass(), prefix, found);
		for (Type implemented : type.getGenericInterfaces()) {
			check(type.getName() + " implements", implemented, prefix, found);
		}
		for (Executable executable : concat(type.getDeclaredConstructors(), type.getDeclaredMethods())) {
			if (visible(executable) && !executable.isSynthetic()) {
				String where = type.getName() + "." + executable.getName();
				for (Type parameter : executable.getGenericParameterTypes()) {
					check(where, parameter, prefix, found);
				}
				for (Type thrown : executable.getGenericExceptionTypes()) {
					check(where, thrown, prefix, found);
				}
				if (executable instanceof Method method) {
					check(where, method.getGenericReturnType(), prefix, found);
				}
			}
		}
		for (Field field : type.getDeclaredFields()) {
			if (visible(field)) {
				check(type.getName() + "." + field.getName(), field.getGenericType(), prefix, found);
			}
		}
		if (type.isRecord()) {
			for (RecordComponent component : type.getRecordComponents()) {
				check(type.getName() + "." + component.getName(), component.getGenericType(), prefix, found);
			}
		}
		for (Class<?> nested : type.getDeclaredClasses()) {
			if (Modifier.isPublic(nested.getModifiers()) || Modifier.isProtected(nested.getModifiers())) {
				collect(nested, prefix, found);
			}
		}
	}

	private static List<Executable> concat(Executable[] first, Executable[] second) {
		List<Executable> all = new ArrayList<>(List.of(first));
		all.addAll(List.of(second));
		return all;
	}

	private static <T extends AnnotatedElement & Member> boolean visible(T member) {
		return Modifier.isPublic(member.getModifiers()) || Modifier.isProtected(member.getModifiers());
	}

	// A type variable is not followed into its bounds: a bound may mention the variable
	// itself.
	private static void check(String where, Type type, String prefix, List<String> found) {
		if (type == null) {
			return;
		}
		if (type instanceof Class<?> plain) {
			Class<?> component = plain;
			while (component.isArray()) {
				component = component.getComponentType();
			}
			if (component.getName().startsWith(prefix)) {
				found.add(where + " mentions " + component.getName());
			}
		}
		else if (type instanceof ParameterizedType parameterized) {
			check(where, parameterized.getRawType(), prefix, found);
			for (Type argument : parameterized.getActualTypeArguments()) {
				check(where, argument, prefix, found);
			}
		}
		else if (type instanceof GenericArrayType array) {
			check(where, array.getGenericComponentType(), prefix, found);
		}
		else if (type instanceof WildcardType wildcard) {
			for (Type bound : wildcard.getUpperBounds()) {
				check(where, bound, prefix, found);
			}
			for (Type bound : wildcard.getLowerBounds()) {
				check(where, bound, prefix, found);
			}
		}
	}

}
