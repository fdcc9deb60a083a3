package dev.zdm.migration;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;

/**
 * The phases a migration moves through, in order.
 */
public enum Phase {

	/** The expand DDL has run; reads and writes use the old schema. */
	EXPAND("expand", false),

	/**
	 * Writes go to the old schema and the new one is kept in sync in the same
	 * transaction.
	 */
	DUAL_WRITE("dual-write", false),

	/**
	 * As {@link #DUAL_WRITE}, while existing rows are copied in the background and
	 * verified.
	 */
	BACKFILL("backfill", false),

	/**
	 * Reads and writes use the new schema and the old one is kept in sync in the same
	 * transaction.
	 */
	READ_NEW("read-new", true),

	/** As {@link #READ_NEW} until the contract DDL drops the old schema. */
	CONTRACT("contract", true),

	/**
	 * Not a step of the order: takes a migration that has not contracted back to where it
	 * started. Reads go to the old schema, and the new one is kept in sync while any live
	 * instance still needs it; once none does, what the expand created is dropped. An
	 * instance never runs at this phase: it is only requested, and the instance runs at
	 * {@link #DUAL_WRITE}, then {@link #EXPAND}.
	 */
	ABANDON("abandon", false);

	private final String value;

	private final boolean readsNew;

	Phase(String value, boolean readsNew) {
		this.value = value;
		this.readsNew = readsNew;
	}

	/**
	 * Return the value used in configuration, for example {@code dual-write}.
	 * @return the configuration value
	 */
	public String value() {
		return this.value;
	}

	/**
	 * Whether reads come from the new schema in this phase.
	 * @return {@code true} from {@link #READ_NEW} on
	 */
	public boolean readsNew() {
		return this.readsNew;
	}

	/**
	 * Whether this phase comes after the given one, in the order of the steps.
	 * {@link #ABANDON} is outside that order: compare only the phases an instance runs
	 * at.
	 * @param other the phase to compare with
	 * @return {@code true} if this phase is later
	 */
	public boolean isAfter(Phase other) {
		return ordinal() > other.ordinal();
	}

	/**
	 * Whether this phase is the given one or comes after it.
	 * @param other the phase to compare with
	 * @return {@code true} if this phase is the same or later
	 */
	public boolean isAtLeast(Phase other) {
		return ordinal() >= other.ordinal();
	}

	/**
	 * Return the phase after this one, or this one if it is the last (or
	 * {@link #ABANDON}).
	 * @return the next phase
	 */
	public Phase next() {
		return (this == CONTRACT || this == ABANDON) ? this : values()[ordinal() + 1];
	}

	/**
	 * Return the phase for a configuration value, matched ignoring case, {@code -} and
	 * {@code _}.
	 * @param value the configuration value, for example {@code read-new}
	 * @return the phase, or {@code null} if no phase has that value
	 */
	public static @Nullable Phase fromValue(@Nullable String value) {
		if (value == null) {
			return null;
		}
		String normalized = normalize(value);
		for (Phase phase : values()) {
			if (normalize(phase.value).equals(normalized)) {
				return phase;
			}
		}
		return null;
	}

	/**
	 * Return the phases a migration moves through, in order: every phase but
	 * {@link #ABANDON}.
	 * @return {@code expand} to {@code contract}
	 */
	public static List<Phase> steps() {
		return List.of(EXPAND, DUAL_WRITE, BACKFILL, READ_NEW, CONTRACT);
	}

	/**
	 * Return the configuration values of all phases, in order, for messages.
	 * @return {@code expand, dual-write, backfill, read-new, contract, abandon}
	 */
	public static String allValues() {
		return Arrays.stream(values()).map(Phase::value).collect(Collectors.joining(", "));
	}

	private static String normalize(String value) {
		return value.trim().toLowerCase().replace("-", "").replace("_", "");
	}

	@Override
	public String toString() {
		return this.value;
	}

}
