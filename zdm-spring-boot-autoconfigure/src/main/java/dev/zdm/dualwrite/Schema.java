package dev.zdm.dualwrite;

/**
 * The side of a migration a repository implementation is written against.
 */
public enum Schema {

	/** The schema before the migration: the source of truth until {@code backfill}. */
	OLD,

	/** The schema after the migration: the source of truth from {@code read-new} on. */
	NEW,

	/**
	 * Both schemas at once, for a migration synced by the application
	 * ({@code sync: application}): an implementation that writes the old and the new
	 * columns in the same statement. Writes go to it from {@code dual-write} until the
	 * contract DDL has run; its reads are never called.
	 */
	BOTH

}
