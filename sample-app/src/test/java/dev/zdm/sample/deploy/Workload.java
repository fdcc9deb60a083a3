package dev.zdm.sample.deploy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The traffic a rolling deploy sends to the service, and the checks of what it wrote.
 * Implement it for your own service and pass its class name with {@code --workload};
 * {@link CustomerWorkload} is the sample's.
 * <p>
 * Implementations are called from many threads at once.
 */
public interface Workload {

	/**
	 * Write the rows that exist before the migration starts, once the instances have
	 * created the schema.
	 * @param jdbc the database
	 * @param rows how many rows to write
	 */
	void seed(JdbcTemplate jdbc, int rows);

	/**
	 * Send one request, a read or a write chosen at random, and remember what an
	 * acknowledged write wrote. A write whose outcome is unknown (the request could not
	 * be answered) must be remembered as such, and left out of later checks.
	 * @param target the instance to send it to
	 * @return the outcome
	 */
	Outcome request(HttpTarget target);

	/**
	 * Read back, through the service, every row an acknowledged write touched.
	 * @param target the instance to read through
	 * @param threads how many requests to send at once
	 * @return one description per acknowledged write that is not readable with its last
	 * value
	 */
	List<String> lostWrites(HttpTarget target, int threads);

	/**
	 * Count the rows whose old and new shapes disagree, per migration, in one snapshot of
	 * the database.
	 * @param jdbc the database
	 * @param migrations the migrations moved by the deploy
	 * @return the count per migration
	 */
	Map<String, Long> disagreeingRows(JdbcTemplate jdbc, List<String> migrations);

	/**
	 * Return how many writes were acknowledged, and how many had an unknown outcome.
	 * @return the figures, by name
	 */
	Map<String, Long> figures();

	/**
	 * Read back acknowledged writes with several requests at once: a helper for
	 * {@link #lostWrites(HttpTarget, int)}.
	 * @param <T> what a write is remembered as
	 * @param writes the acknowledged writes
	 * @param threads how many to read at once
	 * @param readBack reads one back, returning a description if it is not readable with
	 * its last value, else {@code null}
	 * @return the descriptions of the writes not readable with their last value
	 */
	static <T> List<String> readBack(List<T> writes, int threads, ReadBack<T> readBack) {
		ExecutorService executor = Executors.newFixedThreadPool(threads);
		try {
			List<Future<@Nullable String>> checks = new ArrayList<>();
			for (T write : writes) {
				checks.add(executor.submit(() -> readBack.mismatch(write)));
			}
			List<String> lost = new ArrayList<>();
			for (Future<@Nullable String> check : checks) {
				String mismatch = check.get();
				if (mismatch != null) {
					lost.add(mismatch);
				}
			}
			return lost;
		}
		catch (Exception ex) {
			throw new IllegalStateException("Could not read back the acknowledged writes", ex);
		}
		finally {
			executor.shutdownNow();
		}
	}

	/**
	 * Reads one acknowledged write back through the service.
	 *
	 * @param <T> what a write is remembered as
	 */
	@FunctionalInterface
	interface ReadBack<T> {

		/**
		 * Read the write back.
		 * @param write the write
		 * @return what differs from its last value, or {@code null} if nothing does
		 * @throws IOException if the service cannot be read
		 */
		@Nullable String mismatch(T write) throws IOException;

	}

	/**
	 * The outcome of one request.
	 *
	 * @param failure why the request failed, or {@code null} if it succeeded
	 * @param unanswered whether it failed because no answer came (the instance went away)
	 * @param staleRead whether it was a read that did not return the last acknowledged
	 * value
	 */
	record Outcome(@Nullable String failure, boolean unanswered, boolean staleRead) {

		/** A request that succeeded. */
		public static final Outcome OK = new Outcome(null, false, false);

		/**
		 * A request the service answered wrongly.
		 * @param failure what went wrong
		 * @return the outcome
		 */
		public static Outcome failed(String failure) {
			return new Outcome(failure, false, false);
		}

		/**
		 * A request that got no answer.
		 * @param failure what went wrong
		 * @return the outcome
		 */
		public static Outcome unanswered(String failure) {
			return new Outcome(failure, true, false);
		}

		/**
		 * A read that did not return the last acknowledged value.
		 * @param failure what it returned, and what it should have
		 * @return the outcome
		 */
		public static Outcome stale(String failure) {
			return new Outcome(failure, false, true);
		}

		/**
		 * Whether the request succeeded.
		 * @return {@code true} if so
		 */
		public boolean ok() {
			return this.failure == null;
		}

	}

}
