package dev.zdm.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.zdm.test.ApiSurface;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks the test kit's API the way {@code dev.zdm.PackageStructureTests} checks the core
 * module's: at most 35 public types, and no public signature mentions an engine type.
 */
@Tag("no-database")
class TestKitStructureTests {

	private static final ApiSurface SURFACE = new ApiSurface(Path.of("src/main/java"));

	@Test
	void theKitIsAtMost35PublicTypes() {
		assertThat(SURFACE.publicTypes(Set.of("dev.zdm.testkit"))).hasSizeLessThanOrEqualTo(35)
			.doesNotContain("dev.zdm.testkit.TestKitSupport");
	}

	@Test
	void noPublicSignatureOfTheKitMentionsAnInternalType() throws ClassNotFoundException {
		List<String> mentions = new ArrayList<>();
		for (String type : SURFACE.publicTypes(Set.of("dev.zdm.testkit"))) {
			mentions.addAll(ApiSurface.mentions(Class.forName(type), "dev.zdm.internal."));
		}
		assertThat(mentions).as("test kit signatures that mention dev.zdm.internal types").isEmpty();
	}

}
