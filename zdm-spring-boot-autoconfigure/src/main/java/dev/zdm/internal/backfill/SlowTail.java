package dev.zdm.internal.backfill;

/**
 * The probes taken at any moment of the copy since the last reading of the slow tail,
 * against the slowest 1% of those taken while it paused.
 *
 * @param probes how many
 * @param slow how many took longer than the threshold
 * @param threshold the paused probes' slowest 1% with the budget added, in nanoseconds
 * @param busyShare the share of the last checks that found another session busy
 */
record SlowTail(int probes, int slow, double threshold, double busyShare) {

	/**
	 * The share of probes over the slow tail's line the test takes for a copy the
	 * workload bears: three quarters of the 1% expected of the paused probes' slowest 1%
	 * (with the budget added, probes with no copy read 0.1% to 0.8% over it beside issue
	 * 21's pgbench workload).
	 */
	static final double CALM_SHARE = 0.0075;

	/**
	 * The share of probes over the slow tail's line the test takes for a copy the
	 * workload feels: one and a half times the 1% of a p99. Measured beside issue 21's
	 * pgbench workload outside zdm, a copy running a fifth of the time tripled its p99
	 * and put 1.7% of point-read probes over the line, one running a tenth of the time
	 * left it within 1.1x at 0.9%.
	 */
	static final double OVER_SHARE = 0.015;

	/**
	 * The odds, in natural logarithm, one share must have over the other for the slow
	 * tail to read over or calm: 19 to 1, so each is wrong at most one time in twenty at
	 * the shares above (Wald's sequential probability ratio test). The two shares break
	 * even at about 1.08%: the copy grows while fewer probes than that are over the line,
	 * and backs off while more are.
	 */
	static final double DECISIVE_ODDS = Math.log(19);

	/**
	 * Whether a workload runs beside the copy and the probes are at least 19 times
	 * likelier to come from a copy that slows {@link #OVER_SHARE} of them than from one
	 * that slows {@link #CALM_SHARE}.
	 * @return whether the workload's p99 feels the copy
	 */
	boolean over() {
		return this.busyShare >= TailSampler.MIN_BUSY_SHARE && evidence() >= DECISIVE_ODDS;
	}

	/**
	 * Whether the copy may speed up: no workload, or probes at least 19 times likelier to
	 * come from a copy that slows {@link #CALM_SHARE} of them than from one that slows
	 * {@link #OVER_SHARE}. A reading neither over nor calm (the most probes counted and
	 * still no telling) keeps the pace.
	 * @return whether the copy may speed up
	 */
	boolean calm() {
		return this.busyShare < TailSampler.MIN_BUSY_SHARE || evidence() <= -DECISIVE_ODDS;
	}

	/**
	 * Whether the slow tail is calm with no more slow probes than {@link #CALM_SHARE}:
	 * the copy may speed up by more than a step.
	 * @return whether the tail is untouched
	 */
	boolean untouched() {
		return this.busyShare < TailSampler.MIN_BUSY_SHARE || (calm() && share() <= CALM_SHARE);
	}

	/**
	 * The log of the odds that the probes come from a copy slowing {@link #OVER_SHARE} of
	 * them rather than {@link #CALM_SHARE}: above {@link TailSampler#DECISIVE_ODDS} the
	 * first, below its negative the second.
	 * @return the log of the odds
	 */
	double evidence() {
		return this.slow * Math.log(OVER_SHARE / CALM_SHARE)
				+ (this.probes - this.slow) * Math.log((1 - OVER_SHARE) / (1 - CALM_SHARE));
	}

	double share() {
		return (double) this.slow / this.probes;
	}

}
