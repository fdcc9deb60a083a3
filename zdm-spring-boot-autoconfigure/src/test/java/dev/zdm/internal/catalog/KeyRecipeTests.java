package dev.zdm.internal.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.SqlIdentifier;
import dev.zdm.migration.TableName;
import dev.zdm.migration.ZdmConfigurationException;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Tests that a table without a key is refused with the statements that give it one while
 * it serves traffic, and that those statements do so on a real PostgreSQL under inserts,
 * updates and deletes that run through every one of them, with no write lost and no
 * writer failing; the migration is then accepted with the new primary key.
 */
class KeyRecipeTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static final int ROWS = 30_000;

	private final JdbcTemplate jdbc = postgres.jdbc();

	@Test
	void tableWithoutKeyIsRefusedWithTheRecipeAndTheRecipeAddsAPrimaryKeyUnderLiveWrites() throws Exception {
		this.jdbc.execute("CREATE TABLE audit_log (ref text NOT NULL, payload text, payload_new text)");
		this.jdbc.update("INSERT INTO audit_log (ref, payload) SELECT 'r' || i, 'p' || i FROM generate_series(1, ?) i",
				ROWS);
		MigrationValidator validator = new MigrationValidator(new DatabaseCatalog(postgres.dataSource()));
		MigrationDefinition migration = MigrationDefinition.builder("audit")
			.table("audit_log")
			.up("payload_new", "upper(payload)")
			.build();
		KeyRecipe recipe = KeyRecipe.of(TableName.parse("public.audit_log"),
				Map.of("ref", "text", "payload", "text", "payload_new", "text"));
		assertThatExceptionOfType(ZdmConfigurationException.class)
			.isThrownBy(() -> validator.validateBeforeExpand(migration, false))
			.satisfies((ex) -> {
				assertThat(ex.getDescription()).contains("table 'public.audit_log' has no primary key");
				assertThat(ex.getAction()).contains(recipe.describe());
			});
		Writers writers = new Writers();
		writers.start(3);
		try (Connection connection = postgres.database().newConnection()) {
			connection.setAutoCommit(true);
			for (String statement : recipe.addColumn()) {
				writers.await(statement);
				run(connection, statement);
			}
			int batches = 0;
			while (true) {
				writers.await("a numbering batch");
				int numbered;
				try (Statement statement = connection.createStatement()) {
					numbered = statement.executeUpdate(recipe.numberBatch());
				}
				batches++;
				if (numbered == 0) {
					break;
				}
			}
			assertThat(batches).as("numbering batches").isGreaterThan(ROWS / KeyRecipe.BATCH);
			for (String statement : recipe.makePrimaryKey()) {
				writers.await(statement);
				run(connection, statement);
			}
		}
		writers.await("the end");
		writers.stop();
		assertThat(writers.failure.get()).isNull();
		assertThat(this.jdbc.queryForObject("SELECT count(*) FROM audit_log WHERE id IS NULL", Long.class)).isZero();
		assertThat(this.jdbc.queryForObject("SELECT count(*) = count(DISTINCT id) FROM audit_log", Boolean.class))
			.isTrue();
		Map<String, String> stored = new ConcurrentHashMap<>();
		this.jdbc.query("SELECT ref, payload FROM audit_log", (rs) -> {
			stored.put(rs.getString(1), rs.getString(2));
		});
		long lost = writers.acknowledged.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().isEmpty() ? stored.containsKey(entry.getKey())
					: !entry.getValue().equals(stored.get(entry.getKey())))
			.count();
		assertThat(lost).as("acknowledged writes not stored").isZero();
		MigrationDefinition resolved = validator.validateBeforeExpand(migration, false);
		assertThat(resolved.key()).extracting(SqlIdentifier::name).containsExactly("id");
	}

	private static void run(Connection connection, String sql) throws SQLException {
		try (Statement statement = connection.createStatement()) {
			statement.execute(sql);
		}
	}

	/**
	 * An application's writes on the table, by {@code ref}: inserts, updates and deletes,
	 * each acknowledged once committed (a delete as an empty payload).
	 */
	private static final class Writers {

		private final AtomicBoolean writing = new AtomicBoolean(true);

		private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();

		private final AtomicLong writes = new AtomicLong();

		private final Map<String, String> acknowledged = new ConcurrentHashMap<>();

		private final List<Thread> threads = new ArrayList<>();

		void start(int count) {
			for (int i = 0; i < count; i++) {
				int owner = i;
				Thread thread = new Thread(() -> write(owner, count), "writer-" + i);
				thread.start();
				this.threads.add(thread);
			}
		}

		/** Wait until the writers have committed more writes since the last step. */
		void await(String step) throws InterruptedException {
			long before = this.writes.get();
			long deadline = System.nanoTime() + 30_000_000_000L;
			while (this.writes.get() < before + 30) {
				assertThat(this.failure.get()).as("writers before %s", step).isNull();
				assertThat(System.nanoTime()).as("writes go on before %s", step).isLessThan(deadline);
				Thread.sleep(5);
			}
		}

		void stop() throws InterruptedException {
			this.writing.set(false);
			for (Thread thread : this.threads) {
				thread.join();
			}
		}

		private void write(int owner, int writers) {
			ThreadLocalRandom random = ThreadLocalRandom.current();
			long next = ROWS + 1 + owner;
			try (Connection connection = postgres.database().newConnection()) {
				connection.setAutoCommit(true);
				while (this.writing.get()) {
					int choice = random.nextInt(10);
					long number = random.nextLong(1, ROWS / writers) * writers + owner;
					String payload = "w" + random.nextInt(1_000_000);
					if (choice < 3) {
						String ref = "r" + next;
						next += writers;
						execute(connection, "INSERT INTO audit_log (ref, payload) VALUES (?, ?)", ref, payload);
						this.acknowledged.put(ref, payload);
					}
					else if (choice < 8) {
						String ref = "r" + number;
						if (execute(connection, "UPDATE audit_log SET payload = ? WHERE ref = ?", payload, ref) > 0) {
							this.acknowledged.put(ref, payload);
						}
					}
					else {
						String ref = "r" + number;
						execute(connection, "DELETE FROM audit_log WHERE ref = ?", ref);
						this.acknowledged.put(ref, "");
					}
					this.writes.incrementAndGet();
					Thread.sleep(1);
				}
			}
			catch (Throwable ex) {
				this.failure.compareAndSet(null, ex);
			}
		}

		private static int execute(Connection connection, String sql, Object... values) throws SQLException {
			try (PreparedStatement statement = connection.prepareStatement(sql)) {
				for (int i = 0; i < values.length; i++) {
					statement.setObject(i + 1, values[i]);
				}
				return statement.executeUpdate();
			}
		}

	}

}
