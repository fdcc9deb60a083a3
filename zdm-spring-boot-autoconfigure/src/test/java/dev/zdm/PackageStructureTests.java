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

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks the main code's structure, by reading its sources: which types are public (the
 * API listed in {@code docs/architecture.md}) and that no two packages depend on each
 * other, directly or through others.
 */
class PackageStructureTests {

	private static final Path MAIN = Path.of("src/main/java");

	private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);

	private static final Pattern REFERENCE = Pattern.compile("\\b(dev\\.zdm(?:\\.[a-z]\\w*)+)\\.[A-Z]");

	private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

	private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\\\n])*\"");

	@Test
	void publicTypesAreTheApi() {
		Set<String> publicTypes = new TreeSet<>();
		forEachSource((file, source) -> {
			String name = file.getFileName().toString().replace(".java", "");
			if (Pattern
				.compile("^public (final |abstract |sealed |non-sealed )*(class|interface|record|enum|@interface) "
						+ name + "\\b", Pattern.MULTILINE)
				.matcher(source)
				.find()) {
				publicTypes.add(packageOf(source) + "." + name);
			}
		});
		assertThat(publicTypes).hasSizeLessThanOrEqualTo(35)
			.containsExactlyInAnyOrder("dev.zdm.autoconfigure.ZdmAutoConfiguration",
					"dev.zdm.autoconfigure.ZdmDualWriteAutoConfiguration",
					"dev.zdm.autoconfigure.ZdmEndpointAutoConfiguration",
					"dev.zdm.autoconfigure.ZdmHealthContributorAutoConfiguration",
					"dev.zdm.autoconfigure.ZdmMetricsAutoConfiguration",
					"dev.zdm.autoconfigure.ZdmObservationAutoConfiguration", "dev.zdm.autoconfigure.ZdmProperties",
					"dev.zdm.backfill.BackfillProgress", "dev.zdm.backfill.BackfillService",
					"dev.zdm.backfill.BackfillState", "dev.zdm.backfill.BackfillThrottle",
					"dev.zdm.backfill.BackfillVerification", "dev.zdm.backfill.ThrottleReason",
					"dev.zdm.backfill.VerificationProgress", "dev.zdm.ddl.SchemaChangeContributor",
					"dev.zdm.dualwrite.DualWriteCall", "dev.zdm.dualwrite.Schema", "dev.zdm.dualwrite.ZdmRead",
					"dev.zdm.dualwrite.ZdmRepository", "dev.zdm.dualwrite.ZdmWrite",
					"dev.zdm.migration.BackfillSettings", "dev.zdm.migration.MigrationDefinition",
					"dev.zdm.migration.Phase", "dev.zdm.migration.SqlIdentifier", "dev.zdm.migration.SyncMode",
					"dev.zdm.migration.TableName", "dev.zdm.migration.TimeWindow",
					"dev.zdm.migration.ZdmConfigurationException", "dev.zdm.internal.fleet.FleetMember",
					"dev.zdm.internal.fleet.MigrationState", "dev.zdm.internal.fleet.MigrationStatus",
					"dev.zdm.internal.fleet.PhaseController", "dev.zdm.testkit.TestKitSupport",
					"dev.zdm.ddl.UnsafeOperation", "dev.zdm.ddl.UnsafeStatement");
	}

	@Test
	void noPackageDependsOnItselfThroughAnother() {
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
		List<String> cycles = new ArrayList<>();
		for (String start : dependencies.keySet()) {
			findCycles(start, start, new ArrayList<>(List.of(start)), dependencies, cycles);
		}
		assertThat(cycles).as("package cycles (dependencies: %s)", dependencies).isEmpty();
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
