package dev.zdm.internal.backfill;

/**
 * The application's own database calls as it times them (its connection pool's acquire
 * and usage times), read by the backfill's pacing to see what the workload feels. The
 * engine defines it so that it does not depend on a metrics library; the metrics side
 * provides it when one is present.
 */
@FunctionalInterface
public interface ApplicationLatency {

	/**
	 * Return the totals of the application's database calls since it started; the pacing
	 * takes the difference between two readings.
	 * @return the totals so far
	 */
	Totals totals();

	/**
	 * Totals of the application's database calls.
	 *
	 * @param calls how many calls
	 * @param nanos how long they took, together
	 */
	record Totals(long calls, double nanos) {

		/**
		 * Return the mean time of the calls made since an earlier reading.
		 * @param earlier the earlier reading
		 * @return the mean in nanoseconds, or {@code NaN} if no call was made
		 */
		double meanSince(Totals earlier) {
			long calls = this.calls - earlier.calls;
			return (calls > 0) ? (this.nanos - earlier.nanos) / calls : Double.NaN;
		}

	}

}
