package dev.zdm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.test.ApiSurface;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks the core module's structure by reading its sources and classes: the API (the
 * public types of the user-facing packages) stays small and never mentions an engine
 * type; the packages keep their layers (API, engine in {@code dev.zdm.internal.*} in the
 * order of {@link #INTERNAL_LAYERS}, then the endpoint, health and meters, then the
 * auto-configurations) with no cycle; and no configuration is named by a string. See
 * {@code docs/architecture.md}.
 */
@Tag("no-database")
class PackageStructureTests {

	private static final Path MAIN = Path.of("src/main/java");

	/** The packages a user touches. */
	static final Set<String> API_PACKAGES = Set.of("dev.zdm.migration", "dev.zdm.dualwrite", "dev.zdm.backfill",
			"dev.zdm.ddl", "dev.zdm.autoconfigure");

	/** The engine's packages, lowest first: each may use only those before it. */
	static final List<String> INTERNAL_LAYERS = List.of("dev.zdm.internal.catalog", "dev.zdm.internal.ddl.script",
			"dev.zdm.internal.fleet", "dev.zdm.internal.locks", "dev.zdm.internal.ddl", "dev.zdm.internal.ddl.declared",
			"dev.zdm.internal.backfill", "dev.zdm.internal.dualwrite");

	/** What the auto-configurations create for Actuator and Micrometer. */
	static final Set<String> ADAPTER_PACKAGES = Set.of("dev.zdm.actuate.endpoint", "dev.zdm.health", "dev.zdm.metrics",
			"dev.zdm.observation");

	private static final int MAX_API_TYPES = 35;

	private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);

	private static final Pattern REFERENCE = Pattern.compile("\\b(dev\\.zdm(?:\\.[a-z]\\w*)+)\\.[A-Z]");

	private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

	private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\\\n])*\"");

	private static final Pattern CLASS_NAME_IN_STRING = Pattern.compile("\"dev\\.zdm\\.[\\w.$]*\"");

	@Test
	void theApiIsAtMost35PublicTypes() {
		Set<String> api = new ApiSurface(MAIN).publicTypes(API_PACKAGES);
		assertThat(api).as("public types of %s (see docs/architecture.md)", API_PACKAGES)
			.hasSizeLessThanOrEqualTo(MAX_API_TYPES);
	}

	@Test
	void noPublicSignatureOfTheApiMentionsAnInternalType() throws ClassNotFoundException {
		List<String> mentions = new ArrayList<>();
		for (String type : new ApiSurface(MAIN).publicTypes(API_PACKAGES)) {
			mentions.addAll(ApiSurface.mentions(Class.forName(type), "dev.zdm.internal."));
		}
		assertThat(mentions).as("API signatures that mention dev.zdm.internal types").isEmpty();
	}

	@Test
	void packagesKeepTheirLayersWithNoCycle() {
		Map<String, Set<String>> dependencies = dependencies();
		List<String> wrongWay = new ArrayList<>();
		dependencies.forEach((from, targets) -> targets.stream()
			.filter((to) -> !allowed(from, to))
			.forEach((to) -> wrongWay.add(from + " -> " + to)));
		assertThat(wrongWay).as("dependencies against the layers (all: %s)", dependencies).isEmpty();
		List<String> cycles = new ArrayList<>();
		for (String start : dependencies.keySet()) {
			findCycles(start, start, new ArrayList<>(List.of(start)), dependencies, cycles);
		}
		assertThat(cycles).as("package cycles").isEmpty();
	}

	@Test
	void noConfigurationIsNamedByAString() {
		List<String> named = new ArrayList<>();
		forEachSource((file, source) -> {
			Matcher string = CLASS_NAME_IN_STRING.matcher(COMMENT.matcher(source).replaceAll(" "));
			while (string.find()) {
				named.add(file.getFileName() + ": " + string.group());
			}
			if (source.contains("ImportSelector") || source.contains("ImportBeanDefinitionRegistrar")) {
				named.add(file.getFileName() + ": imports configurations chosen at run time");
			}
		});
		assertThat(named).as("configurations or classes named by a string instead of imported by class").isEmpty();
	}

	private static boolean allowed(String from, String to) {
		int fromRank = rank(from);
		int toRank = rank(to);
		if (fromRank == 0 && toRank == 0) {
			return !to.equals("dev.zdm.autoconfigure");
		}
		return toRank < fromRank;
	}

	private static int rank(String packageName) {
		if (packageName.equals("dev.zdm.autoconfigure")) {
			return 100;
		}
		if (API_PACKAGES.contains(packageName)) {
			return 0;
		}
		int layer = INTERNAL_LAYERS.indexOf(packageName);
		if (layer >= 0) {
			return 1 + layer;
		}
		if (ADAPTER_PACKAGES.contains(packageName)) {
			return 50;
		}
		throw new AssertionError("Package " + packageName + " has no place in the layers of PackageStructureTests; "
				+ "add it there and to docs/architecture.md");
	}

	private static Map<String, Set<String>> dependencies() {
		Map<String, Set<String>> dependencies = new TreeMap<>();
		forEachSource((file, source) -> {
			String from = packageOf(source);
			Set<String> to = dependencies.computeIfAbsent(from, (key) -> new TreeSet<>());
			Matcher reference = REFERENCE
				.matcher(STRING.matcher(COMMENT.matcher(source).replaceAll(" ")).replaceAll("\"\""));
			while (reference.find()) {
				if (!reference.group(1).equals(from)) {
					to.add(reference.group(1));
				}
			}
		});
		return dependencies;
	}

	private void findCycles(String start, String current, List<String> path, Map<String, Set<String>> dependencies,
			List<String> cycles) {
		for (String next : dependencies.getOrDefault(current, Set.of())) {
			if (next.equals(start)) {
				cycles.add(String.join(" -> ", path) + " -> " + start);
			}
			else if (!path.contains(next) && next.compareTo(start) > 0) {
				path.add(next);
				findCycles(start, next, path, dependencies, cycles);
				path.remove(path.size() - 1);
			}
		}
	}

	private static String packageOf(String source) {
		Matcher matcher = PACKAGE.matcher(source);
		assertThat(matcher.find()).isTrue();
		return matcher.group(1);
	}

	private static void forEachSource(SourceCallback callback) {
		try (Stream<Path> files = Files.walk(MAIN)) {
			for (Path file : files.filter((path) -> path.toString().endsWith(".java"))
				.filter((path) -> !path.endsWith("package-info.java"))
				.toList()) {
				callback.accept(file, Files.readString(file));
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	@FunctionalInterface
	private interface SourceCallback {

		void accept(Path file, String source) throws IOException;

	}

}
