package dev.zdm.internal.ddl.script;

/**
 * The steps of a migration that change the schema.
 */
public enum DdlStep {

	/** Adds the new schema, at start-up, before the instance serves traffic. */
	EXPAND("expand"),

	/** Drops the old schema, once, when no live instance needs it any more. */
	CONTRACT("contract"),

	/**
	 * Drops what the expand created, once, when a migration is abandoned and no live
	 * instance needs the new schema any more.
	 */
	ABANDON("abandon");

	private final String value;

	DdlStep(String value) {
		this.value = value;
	}

	/**
	 * Return the step's name as stored and shown, for example {@code expand}.
	 * @return the name
	 */
	public String value() {
		return this.value;
	}

	@Override
	public String toString() {
		return this.value;
	}

}
