package dev.zdm.internal.ddl;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.InstanceInfo;
import dev.zdm.internal.fleet.MigrationState;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.ZdmSchema;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.test.PostgresExtension;
import dev.zdm.testing.DdlRunners;
import dev.zdm.testing.DdlTestScripts;

/**
 * Prints the longest stall of a steady read workload while an {@code ALTER TABLE} waits
 * behind a session that holds a lock on the table, with zdm's lock timeout and retries
 * and with a plain {@code ALTER TABLE}, side by side. Asserts nothing. Run with
 * {@code ./mvnw -Pbenchmark ... test -Dtest=DdlStallBenchmark}.
 */
@Tag("benchmark")
class DdlStallBenchmark {

	private static final Duration LOCK_TIMEOUT = Duration.ofMillis(100);

	private static final Duration BLOCKER_HOLDS = Duration.ofSeconds(5);

	private static final int READERS = 4;

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@TempDir
	Path scripts;

	@Test
	void longestReadStallWhileDdlWaitsBehindABlocker() throws Exception {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE TABLE bench (id bigint PRIMARY KEY, payload text)");
		jdbc.execute("INSERT INTO bench SELECT i, md5(i::text) FROM generate_series(1, 10000) i");
		new ZdmSchema(postgres.dataSource()).migrate();
		DataSource readers = postgres.newDataSource("bench-readers", READERS);

		measure(readers, Duration.ofSeconds(2), () -> {
		});
		Result baseline = measure(readers, BLOCKER_HOLDS, () -> {
		});

		String location = DdlTestScripts.write(this.scripts, "V1__add_column.sql",
				"ALTER TABLE bench ADD COLUMN with_zdm text;");
		MigrationDefinition migration = MigrationDefinition.builder("bench")
			.table("public.bench")
			.expandLocations(List.of(location))
			.build();
		new MigrationStateRepository(postgres.dataSource()).register(migration.id());
		DdlRunners runner = DdlRunners.create(postgres.newDataSource("bench-zdm", 4),
				DdlSettings.defaults()
					.withLockTimeout(LOCK_TIMEOUT)
					.withMaxAttempts(1000)
					.withBackoff(Duration.ofMillis(100), Duration.ofSeconds(1)),
				new ExpandSettings(true, Duration.ofMinutes(10), java.util.Set.of()),
				new InstanceInfo("bench", null, "localhost", 1), Duration.ofSeconds(5), List.of());
		Result withZdm = measureBehindBlocker(readers,
				() -> runner.expand().beforeJoin(migration, MigrationState.initial(migration.id())));
		int lockTimeouts = runner.history().status(migration.id(), 1).totalLockTimeouts();

		Result plain = measureBehindBlocker(readers, () -> {
			try (Connection connection = postgres.database().newConnection();
					Statement statement = connection.createStatement()) {
				statement.execute("ALTER TABLE bench ADD COLUMN without_zdm text");
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		});

		System.out.println();
		System.out.println("ALTER TABLE ... ADD COLUMN queued behind a session holding a lock on the table for "
				+ BLOCKER_HOLDS.toSeconds() + " s; " + READERS + " sessions reading by primary key in a loop");
		System.out.printf("  %-40s %12s %10s %14s%n", "", "longest read", "reads",
				"reads > " + LOCK_TIMEOUT.toMillis() + " ms");
		print("no DDL (baseline)", baseline, "");
		print("zdm, lock_timeout " + LOCK_TIMEOUT.toMillis() + " ms, retries", withZdm,
				lockTimeouts + " lock timeouts, DDL done after " + withZdm.ddlMillis() + " ms");
		print("plain ALTER TABLE, no lock_timeout", plain, "DDL done after " + plain.ddlMillis() + " ms");
		System.out.println();
	}

	private static void print(String label, Result result, String note) {
		System.out.printf("  %-40s %9d ms %10d %14d   %s%n", label, result.longestMillis(), result.reads(),
				result.slowReads(), note);
	}

	private Result measureBehindBlocker(DataSource readers, Runnable ddl) throws Exception {
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("SELECT count(*) FROM bench");
			}
			Result result = measure(readers, BLOCKER_HOLDS.plusSeconds(1), () -> {
				CompletableFuture<Void> running = CompletableFuture.runAsync(ddl);
				sleep(BLOCKER_HOLDS);
				try {
					blocker.commit();
					running.get(30, TimeUnit.SECONDS);
				}
				catch (Exception ex) {
					throw new IllegalStateException(ex);
				}
			});
			return result;
		}
	}

	private Result measure(DataSource dataSource, Duration atLeast, Runnable during) throws Exception {
		AtomicBoolean running = new AtomicBoolean(true);
		AtomicLong longest = new AtomicLong();
		AtomicLong reads = new AtomicLong();
		AtomicLong slow = new AtomicLong();
		JdbcTemplate jdbc = new JdbcTemplate(dataSource);
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < READERS; i++) {
			int offset = i;
			Thread thread = new Thread(() -> {
				long id = 1 + offset;
				while (running.get()) {
					long started = System.nanoTime();
					jdbc.queryForObject("SELECT payload FROM bench WHERE id = ?", String.class, id);
					long took = System.nanoTime() - started;
					longest.accumulateAndGet(took, Math::max);
					if (took > LOCK_TIMEOUT.toNanos()) {
						slow.incrementAndGet();
					}
					reads.incrementAndGet();
					id = (id % 10000) + 1;
				}
			});
			thread.setDaemon(true);
			thread.start();
			threads.add(thread);
		}
		long started = System.nanoTime();
		during.run();
		long ddlMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
		long remaining = atLeast.toMillis() - ddlMillis;
		if (remaining > 0) {
			Thread.sleep(remaining);
		}
		running.set(false);
		for (Thread thread : threads) {
			thread.join(10_000);
		}
		return new Result(TimeUnit.NANOSECONDS.toMillis(longest.get()), reads.get(), slow.get(), ddlMillis);
	}

	private static void sleep(Duration duration) {
		try {
			Thread.sleep(duration.toMillis());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	private record Result(long longestMillis, long reads, long slowReads, long ddlMillis) {
	}

}
