package dev.zdm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checks by reading the engine's sources that every SQL statement zdm keeps in a constant
 * begins with zdm's marker comment, by which the backfill's tail signal tells zdm's own
 * sessions from the application's (see {@code docs/backfill.md}, "zdm's own statements").
 */
@Tag("no-database")
class ZdmStatementMarkerTests {

	private static final Path ENGINE = Path.of("src/main/java/dev/zdm/internal");

	// The copy's statements run on the copy's own sessions, which the tail signal leaves
	// out by their backend.
	private static final Set<String> UNMARKED = Set.of("BackfillStatements.java");

	private static final Pattern STATEMENT = Pattern
		.compile("static final String (\\w+) = (?:\"|\"\"\"\\s*)(SELECT|INSERT|UPDATE|DELETE|WITH|SET|RESET)\\b");

	@Test
	void zdmsOwnStatementsBeginWithTheMarker() {
		List<String> unmarked = new ArrayList<>();
		try (Stream<Path> files = Files.walk(ENGINE)) {
			for (Path file : files.filter((path) -> path.toString().endsWith(".java"))
				.filter((path) -> !UNMARKED.contains(path.getFileName().toString()))
				.toList()) {
				Matcher statement = STATEMENT.matcher(Files.readString(file));
				while (statement.find()) {
					unmarked.add(file.getFileName() + ": " + statement.group(1));
				}
			}
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		assertThat(unmarked).as("statements of zdm's own that do not begin with /* zdm */").isEmpty();
	}

}
