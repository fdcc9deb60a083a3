package dev.zdm.dualwrite;

/**
 * The side of a migration a repository implementation is written against.
 */
public enum Schema {

	/** The schema before the migration: the source of truth until {@code backfill}. */
	OLD,

	/** The schema after the migration: the source of truth from {@code read-new} on. */
	NEW

}
