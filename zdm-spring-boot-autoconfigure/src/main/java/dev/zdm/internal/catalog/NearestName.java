package dev.zdm.internal.catalog;

import java.util.Collection;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * The name a misspelt one most likely meant, for the "Did you mean ...?" of a refusal:
 * the same name in another case, else the nearest by edits (insertions, deletions and
 * substitutions, case aside), at most two, one for a name under four characters.
 */
public final class NearestName {

	private NearestName() {
	}

	/**
	 * Return the candidate a name most likely meant.
	 * @param candidates the names it may mean
	 * @param name the name, perhaps misspelt
	 * @return the nearest candidate, or {@code null} if none is near enough
	 */
	public static @Nullable String of(Collection<String> candidates, String name) {
		for (String candidate : candidates) {
			if (candidate.equalsIgnoreCase(name)) {
				return candidate;
			}
		}
		int most = (name.length() >= 4) ? 2 : 1;
		String nearest = null;
		int nearestEdits = most + 1;
		for (String candidate : candidates) {
			int edits = edits(candidate.toLowerCase(Locale.ROOT), name.toLowerCase(Locale.ROOT));
			if (edits < nearestEdits) {
				nearest = candidate;
				nearestEdits = edits;
			}
		}
		return nearest;
	}

	private static int edits(String from, String to) {
		int[] previous = new int[to.length() + 1];
		int[] current = new int[to.length() + 1];
		for (int j = 0; j <= to.length(); j++) {
			previous[j] = j;
		}
		for (int i = 1; i <= from.length(); i++) {
			current[0] = i;
			for (int j = 1; j <= to.length(); j++) {
				int substitution = previous[j - 1] + ((from.charAt(i - 1) == to.charAt(j - 1)) ? 0 : 1);
				current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
			}
			int[] swap = previous;
			previous = current;
			current = swap;
		}
		return previous[to.length()];
	}

}
