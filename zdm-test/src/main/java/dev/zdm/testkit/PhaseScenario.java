package dev.zdm.testkit;

/**
 * What the application does at each phase of a walk: the user's own calls and assertions,
 * run against the application as it runs at that phase.
 */
@FunctionalInterface
public interface PhaseScenario {

	/**
	 * Run the scenario at one phase, on one instance.
	 * @param step the phase, the instance's application context and the database
	 * @throws Exception if the scenario fails; the walk fails naming the phase and the
	 * instance
	 */
	void run(PhaseStep step) throws Exception;

}
