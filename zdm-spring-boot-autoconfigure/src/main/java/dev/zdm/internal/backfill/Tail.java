package dev.zdm.internal.backfill;

/**
 * The probes taken while the copy ran since the last reading, against the baseline's
 * slowest 5%.
 *
 * @param probes how many
 * @param slow how many took longer than the threshold
 * @param threshold the slowest baseline probes' time with the budget added, in
 * nanoseconds
 * @param busyShare the share of the last checks that found another session busy
 */
record Tail(int probes, int slow, double threshold, double busyShare) {

	/**
	 * Whether a workload runs beside the copy and more probes were slow than chance
	 * allows: the share expected of the baseline's slowest 5% plus two standard
	 * deviations of that share over this many probes (a reading counts many probes, so
	 * one reading decides).
	 * @return whether the workload's tail feels the copy
	 */
	boolean over() {
		return this.busyShare >= TailSampler.MIN_BUSY_SHARE && share() > allowed();
	}

	/**
	 * Whether the tail is calm enough for the copy to speed up: no workload, or no more
	 * slow probes than the expected share plus one standard deviation. Between calm and
	 * over the copy keeps its pace, so that it settles near what the workload can bear
	 * instead of swinging around it.
	 * @return whether the copy may speed up
	 */
	boolean calm() {
		return this.busyShare < TailSampler.MIN_BUSY_SHARE || share() <= expected() + deviation();
	}

	/**
	 * The largest share of slow probes chance explains.
	 * @return the share
	 */
	double allowed() {
		return expected() + 2 * deviation();
	}

	private double expected() {
		return 1 - TailSampler.BASELINE_QUANTILE;
	}

	private double deviation() {
		return Math.sqrt(expected() * (1 - expected()) / this.probes);
	}

	double share() {
		return (double) this.slow / this.probes;
	}

}
