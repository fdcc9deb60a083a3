package dev.zdm.sample;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import dev.zdm.migration.Phase;
import dev.zdm.testkit.PhaseWalk;
import dev.zdm.testkit.PostgresSource;
import dev.zdm.testkit.WalkReport;
import dev.zdm.testkit.ZdmDatabase;
import dev.zdm.testkit.ZdmDatabases;

/**
 * Prints, side by side in one run, the time of a walk of the sample's two migrations
 * ({@code customers-email} and {@code customers-address}, with the scenario and the 1,000
 * existing customers of {@link CustomerMigrationWalkTests}) through every phase, and the
 * time of starting the sample application once per phase: the same number of starts, in
 * the same JVM, on the same embedded PostgreSQL server, each on a database of its own.
 * Then the ratio, the target (the walk costs at most 1.5 times the starts), the walk's
 * own breakdown, and for comparison a walk that starts an instance at every phase
 * ({@link PhaseWalk#restartEveryPhase()}). A start and stop of the application before the
 * first round loads the classes both sides use, so neither pays for a cold JVM; the
 * rounds then alternate. Asserts nothing. Run with
 * {@code ./mvnw -o -q -Pbenchmark -pl sample-app -am test -Dtest=WalkBenchmark -Dsurefire.failIfNoSpecifiedTests=false};
 * {@code -Dzdm.walk-benchmark.rounds=5} sets the number of rounds (3 by default).
 */
@Tag("benchmark")
class WalkBenchmark {

	private static final double TARGET = 1.5;

	@Test
	void walkAgainstOneStartPerPhase() {
		int rounds = Integer.getInteger("zdm.walk-benchmark.rounds", 3);
		Starts warmUp = startOncePerPhase(List.of(Phase.EXPAND));
		List<Round> results = new ArrayList<>();
		for (int round = 1; round <= rounds; round++) {
			Starts starts = startOncePerPhase(Phase.steps());
			Walk walk = walk(false);
			Walk restarting = walk(true);
			results.add(new Round(round, walk, restarting, starts));
		}
		System.out.println();
		System.out.println("Walk of the sample's two migrations (customers-email, customers-address; 1,000 existing "
				+ "customers) through " + Phase.steps().size() + " phases, against starting the sample application "
				+ "once per phase; one JVM, embedded PostgreSQL, warm-up start " + seconds(warmUp.starts()));
		System.out.printf(Locale.ROOT, "  %-7s %9s %7s %16s %18s %7s %-13s %22s %7s%n", "round", "walk", "starts",
				Phase.steps().size() + " starts", "(+ stops)", "ratio", "<= " + TARGET + "x", "walk, restart at each",
				"ratio");
		for (Round round : results) {
			print(String.valueOf(round.number()), round);
		}
		Round median = results.stream()
			.sorted(Comparator.comparingDouble(Round::ratio))
			.toList()
			.get(results.size() / 2);
		print("median", median);
		System.out.println("  walk breakdown, round " + median.number() + ": " + median.walk().report());
		System.out.println();
	}

	private static void print(String label, Round round) {
		System.out.printf(Locale.ROOT, "  %-7s %9s %7d %16s %18s %6.2fx %-13s %22s %6.2fx%n", label,
				seconds(round.walk().time()), round.walk().report().applicationStartCount(),
				seconds(round.starts().starts()), seconds(round.starts().starts().plus(round.starts().stops())),
				round.ratio(), (round.ratio() <= TARGET) ? "met" : "NOT met", seconds(round.restarting().time()),
				round.ratio(round.restarting()));
	}

	/**
	 * Start the sample application once per phase, one after the other, each stopped
	 * before the next starts, as deploys of one instance do.
	 */
	private static Starts startOncePerPhase(List<Phase> phases) {
		ZdmDatabase database = ZdmDatabases.create(PostgresSource.EMBEDDED, ZdmDatabases.DEFAULT_IMAGE,
				"walk_benchmark_starts");
		try {
			Duration starts = Duration.ZERO;
			Duration stops = Duration.ZERO;
			for (Phase phase : phases) {
				List<String> arguments = new ArrayList<>(List.of("--spring.main.banner-mode=off", "--server.port=0",
						"--zdm.instance-id=benchmark-" + phase.value(),
						"--zdm.migrations.customers-email.phase=" + phase.value(),
						"--zdm.migrations.customers-address.phase=" + phase.value()));
				for (String property : database.springProperties()) {
					arguments.add("--" + property);
				}
				long started = System.nanoTime();
				ConfigurableApplicationContext context = new SpringApplicationBuilder(SampleApplication.class)
					.run(arguments.toArray(String[]::new));
				starts = starts.plusNanos(System.nanoTime() - started);
				started = System.nanoTime();
				context.close();
				stops = stops.plusNanos(System.nanoTime() - started);
			}
			return new Starts(starts, stops);
		}
		finally {
			database.close();
		}
	}

	private static Walk walk(boolean restartEveryPhase) {
		ZdmDatabase database = ZdmDatabases.create(PostgresSource.EMBEDDED, ZdmDatabases.DEFAULT_IMAGE,
				"walk_benchmark_walk");
		try {
			long started = System.nanoTime();
			PhaseWalk walk = new PhaseWalk(database).application(SampleApplication.class)
				.beforeExpand(CustomerMigrationWalkTests::createExistingCustomers)
				.scenario(CustomerMigrationWalkTests::createReadChangeAndDelete);
			WalkReport report = (restartEveryPhase ? walk.restartEveryPhase() : walk).run();
			return new Walk(Duration.ofNanos(System.nanoTime() - started), report);
		}
		finally {
			database.close();
		}
	}

	private static String seconds(Duration duration) {
		return String.format(Locale.ROOT, "%.1f s", duration.toMillis() / 1000.0);
	}

	private record Starts(Duration starts, Duration stops) {

	}

	private record Walk(Duration time, WalkReport report) {

	}

	private record Round(int number, Walk walk, Walk restarting, Starts starts) {

		double ratio() {
			return ratio(this.walk);
		}

		double ratio(Walk walk) {
			return (double) walk.time().toNanos() / this.starts.starts().toNanos();
		}

	}

}
