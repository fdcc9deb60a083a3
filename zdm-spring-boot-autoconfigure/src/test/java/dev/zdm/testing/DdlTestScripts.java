package dev.zdm.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes expand and contract scripts to a folder for a test and returns their
 * {@code filesystem:} location.
 */
public final class DdlTestScripts {

	private DdlTestScripts() {
	}

	public static String write(Path folder, String name, String sql) {
		try {
			Files.createDirectories(folder);
			Files.writeString(folder.resolve(name), sql);
			return "filesystem:" + folder.toAbsolutePath();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
