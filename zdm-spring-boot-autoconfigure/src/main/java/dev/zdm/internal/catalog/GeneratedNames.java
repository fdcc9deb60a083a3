package dev.zdm.internal.catalog;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The names zdm gives its own objects after a migration or a column (a sync trigger and
 * its function, a contract guard, a Flyway history table, a declared check), kept within
 * a length PostgreSQL keeps whole. A name too long is cut and ends in eight hexadecimal
 * digits of the SHA-256 hash of the whole name, so that two long names alike in their
 * first characters stay apart: PostgreSQL would otherwise cut both to one name, and a
 * second migration's trigger would replace the first one's function (Java's
 * {@code hashCode}, used before, gives ids that end in {@code an} and {@code c0} one
 * hash).
 */
public final class GeneratedNames {

	private GeneratedNames() {
	}

	/**
	 * Return a name that fits in a length, cut and hashed if it does not.
	 * @param name the whole name
	 * @param maxLength the longest name to return, at least 16
	 * @return the name itself if it fits, otherwise its first characters, an underscore
	 * and eight hexadecimal digits of its hash, {@code maxLength} characters in all
	 */
	public static String fit(String name, int maxLength) {
		if (name.length() <= maxLength) {
			return name;
		}
		String hash = hash(name);
		return name.substring(0, maxLength - hash.length() - 1) + "_" + hash;
	}

	private static String hash(String name) {
		try {
			byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
			return HexFormat.of().formatHex(digest, 0, 4);
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is missing from this Java runtime", ex);
		}
	}

}
