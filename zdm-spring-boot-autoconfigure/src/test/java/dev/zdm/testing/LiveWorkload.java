package dev.zdm.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.JdbcTemplate;

import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.Phase;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An application's writes on a table being migrated, as its routed repositories would
 * send them: inserts (new keys above the table's and app-chosen keys below it, into
 * gaps), updates and deletes of random rows, each written to both sides in one
 * transaction, the old side first before {@code read-new} and the new side first from
 * then on. Every writer owns the keys congruent to its number, so the last value
 * acknowledged for each key is known.
 * <p>
 * Same-table:
 * {@code t(id bigint, street text, city text, street_new text, city_new text)} with
 * {@code street_new = street}, {@code city_new = upper(city)}. Cross-table:
 * {@code t(id bigint, street text,
 * city text)} and {@code t_addresses(order_id bigint, street text, city text)} with the
 * same expressions. With {@link #withTenants()} a same-table table is keyed by
 * {@code (tenant text, id bigint)} instead, the tenant a function of the id
 * ({@link #TENANT}) whose values need quoting in a key's text form.
 */
public final class LiveWorkload {

	private final JdbcTemplate jdbc;

	private final Connections connections;

	private final String table;

	private final boolean crossTable;

	private final long rows;

	private final Supplier<Phase> phase;

	private final int operationsPerSecond;

	private final AtomicBoolean writing = new AtomicBoolean(true);

	private final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();

	final Map<Long, String> acknowledged = new ConcurrentHashMap<>();

	public final AtomicLong inserts = new AtomicLong();

	public final AtomicLong updates = new AtomicLong();

	public final AtomicLong deletes = new AtomicLong();

	/**
	 * Return the writes acknowledged so far, by kind.
	 * @return inserts, updates and deletes
	 */
	public long[] counts() {
		return new long[] { this.inserts.get(), this.updates.get(), this.deletes.get() };
	}

	/**
	 * Wait until every kind of write has gone on past a moment.
	 * @param mark the counts at that moment, from {@link #counts()}
	 * @param more how many more writes of each kind
	 */
	public void awaitEveryKindBeyond(long[] mark, int more) {
		await().atMost(Duration.ofSeconds(30)).until(() -> {
			long[] now = counts();
			return now[0] > mark[0] + more && now[1] > mark[1] + more && now[2] > mark[2] + more;
		});
	}

	private final List<Thread> threads = new ArrayList<>();

	/**
	 * The tenant of an id, in SQL over {@code id}: names with a comma, a quote, braces, a
	 * space, a backslash, the word null and a plain one.
	 */
	public static final String TENANT = "(ARRAY['acme, inc.', 'q\"uote', '{braces}', 'sp ace', 'back\\slash', "
			+ "'NULL', 'plain'])[id % 7 + 1]";

	private boolean tenants;

	private volatile boolean oldOnlyAtExpand;

	public LiveWorkload(PostgresExtension postgres, String table, boolean crossTable, long rows, Supplier<Phase> phase,
			int operationsPerSecond) {
		this(postgres.jdbc(), () -> postgres.database().newConnection(), table, crossTable, rows, phase,
				operationsPerSecond);
	}

	/**
	 * Create a workload on a database other than the test class's, such as one on a
	 * second server; each writer holds one of the data source's connections.
	 */
	public LiveWorkload(DataSource dataSource, String table, boolean crossTable, long rows, Supplier<Phase> phase,
			int operationsPerSecond) {
		this(new JdbcTemplate(dataSource), dataSource::getConnection, table, crossTable, rows, phase,
				operationsPerSecond);
	}

	private LiveWorkload(JdbcTemplate jdbc, Connections connections, String table, boolean crossTable, long rows,
			Supplier<Phase> phase, int operationsPerSecond) {
		this.jdbc = jdbc;
		this.connections = connections;
		this.table = table;
		this.crossTable = crossTable;
		this.rows = rows;
		this.phase = phase;
		this.operationsPerSecond = operationsPerSecond;
	}

	/**
	 * Create the table(s) with {@code rows} keys from 1 to {@code 2 * rows}, every other
	 * key left free so that the application can insert below the backfill's bound. The
	 * new side is empty.
	 */
	public static void create(PostgresExtension postgres, String table, boolean crossTable, long rows) {
		create(postgres.dataSource(), table, crossTable, rows);
	}

	/**
	 * Create the table(s) as {@link #create(PostgresExtension, String, boolean, long)}
	 * does, in another database.
	 */
	public static void create(DataSource dataSource, String table, boolean crossTable, long rows) {
		JdbcTemplate jdbc = new JdbcTemplate(dataSource);
		String newColumns = crossTable ? "" : ", street_new text, city_new text";
		jdbc.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, street text, city text" + newColumns + ")");
		jdbc.update("INSERT INTO " + table + " (id, street, city) SELECT 2 * i, 'street ' || i, "
				+ "CASE WHEN i % 97 = 0 THEN NULL ELSE 'city ' || i END FROM generate_series(1, ?) AS i", rows);
		created(jdbc, table, crossTable);
	}

	/**
	 * Create a table keyed by {@code (tenant, id)}, with {@code rows} keys as
	 * {@link #create} makes them; for a cross-table migration the target is keyed by
	 * {@code (tenant, order_id)}.
	 */
	public static void createWithTenants(PostgresExtension postgres, String table, boolean crossTable, long rows) {
		postgres.jdbc()
			.execute("CREATE TABLE " + table + " (tenant text NOT NULL, id bigint NOT NULL, street text, city text"
					+ (crossTable ? "" : ", street_new text, city_new text") + ", PRIMARY KEY (tenant, id))");
		postgres.jdbc()
			.update("INSERT INTO " + table + " (tenant, id, street, city) SELECT " + TENANT.replace("id", "2 * i")
					+ ", 2 * i, 'street ' || i, CASE WHEN i % 97 = 0 THEN NULL ELSE 'city ' || i END "
					+ "FROM generate_series(1, ?) AS i", rows);
		if (crossTable) {
			postgres.jdbc()
				.execute("CREATE TABLE " + table + "_addresses (tenant text NOT NULL, order_id bigint NOT NULL, "
						+ "street text, city text, PRIMARY KEY (tenant, order_id))");
		}
		postgres.jdbc().execute("ANALYZE " + table);
	}

	/**
	 * Create a table as {@link #create} makes it, keyed by {@code uid uuid} instead, a
	 * function of the id ({@code md5(id::text)::uuid}, so in no order of the id's) that a
	 * trigger fills on insert: the workload's statements, which name rows by id, write it
	 * unchanged. For a cross-table migration the target is keyed by
	 * {@code order_uid uuid} the same way, its {@code order_id} unique beside it.
	 * PostgreSQL has no {@code max(uuid)}.
	 */
	public static void createWithUuidKeys(PostgresExtension postgres, String table, boolean crossTable, long rows) {
		JdbcTemplate jdbc = postgres.jdbc();
		jdbc.execute("CREATE FUNCTION " + table + "_uid() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
				+ "NEW.uid := md5(NEW.id::text)::uuid; RETURN NEW; END $$");
		jdbc.execute("CREATE TABLE " + table + " (uid uuid PRIMARY KEY, id bigint NOT NULL UNIQUE, street text, "
				+ "city text" + (crossTable ? "" : ", street_new text, city_new text") + ")");
		jdbc.execute("CREATE TRIGGER " + table + "_uid BEFORE INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION "
				+ table + "_uid()");
		jdbc.update("INSERT INTO " + table + " (id, street, city) SELECT 2 * i, 'street ' || i, "
				+ "CASE WHEN i % 97 = 0 THEN NULL ELSE 'city ' || i END FROM generate_series(1, ?) AS i", rows);
		if (crossTable) {
			jdbc.execute("CREATE FUNCTION " + table + "_order_uid() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
					+ "NEW.order_uid := md5(NEW.order_id::text)::uuid; RETURN NEW; END $$");
			jdbc.execute("CREATE TABLE " + table + "_addresses (order_uid uuid PRIMARY KEY, order_id bigint NOT NULL "
					+ "UNIQUE, street text, city text)");
			jdbc.execute("CREATE TRIGGER " + table + "_order_uid BEFORE INSERT ON " + table
					+ "_addresses FOR EACH ROW EXECUTE FUNCTION " + table + "_order_uid()");
		}
		jdbc.execute("ANALYZE " + table);
	}

	/**
	 * Write a table made by {@link #createWithTenants}: every statement names the row by
	 * tenant and id.
	 * @return this workload
	 */
	public LiveWorkload withTenants() {
		this.tenants = true;
		return this;
	}

	private static void created(JdbcTemplate jdbc, String table, boolean crossTable) {
		if (crossTable) {
			jdbc.execute("CREATE TABLE " + table + "_addresses (order_id bigint PRIMARY KEY, street text, city text)");
		}
		jdbc.execute("ANALYZE " + table);
	}

	/**
	 * Write the old side only while the phase is {@code expand}, as the routed
	 * repositories do, for a test whose new side may be dropped (an abandon): the same
	 * table's sync trigger, if there is one, fills its new columns. By default every
	 * write goes to both sides whatever the phase.
	 * @return this workload
	 */
	public LiveWorkload oldOnlyAtExpand() {
		this.oldOnlyAtExpand = true;
		return this;
	}

	public void start(int writers) {
		for (int writer = 0; writer < writers; writer++) {
			int owner = writer;
			Thread thread = new Thread(() -> write(owner, writers), "workload-" + this.table + "-" + writer);
			thread.start();
			this.threads.add(thread);
		}
	}

	public void stop() throws InterruptedException {
		this.writing.set(false);
		for (Thread thread : this.threads) {
			thread.join();
		}
	}

	public @Nullable Throwable failure() {
		return this.failure.get();
	}

	/**
	 * Stop, and assert that no write failed, that inserts, updates and deletes all ran,
	 * and that every acknowledged write reads back with its last value.
	 * @throws InterruptedException if interrupted while the writers stop
	 */
	public void stopAndAssertNoWriteLost() throws InterruptedException {
		stop();
		assertThat(failure()).isNull();
		assertThat(this.inserts.get()).as("inserts").isPositive();
		assertThat(this.updates.get()).as("updates").isPositive();
		assertThat(this.deletes.get()).as("deletes").isPositive();
		assertThat(lostWrites()).as("lost writes").isZero();
	}

	/**
	 * Return the writes acknowledged so far.
	 * @return inserts, updates and deletes together
	 */
	public long writes() {
		return this.inserts.get() + this.updates.get() + this.deletes.get();
	}

	/**
	 * Wait until the writers have done more writes than now, to show that the writes go
	 * on past the point a test has reached.
	 * @param count how many more
	 */
	public void awaitMoreWrites(int count) {
		long before = writes();
		await().atMost(Duration.ofSeconds(20)).until(() -> writes() > before + count);
	}

	/**
	 * Wait until the migration has contracted with no write failing, then until the
	 * writers have done 30 more writes, to show that the writes go on past the contract.
	 * @param states the migration states
	 * @param migration the migration's id
	 */
	public void awaitContracted(MigrationStateRepository states, String migration) {
		await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
			assertThat(failure()).isNull();
			assertThat(states.find(migration).isContracted()).isTrue();
		});
		awaitMoreWrites(30);
	}

	/**
	 * Return the phase a workload writes in: the migration's effective phase on the
	 * controller once a test has set it, {@code expand} before.
	 * @param controller the controller, set when the application has started
	 * @param migration the migration's id
	 * @return the phase supplier
	 */
	public static Supplier<Phase> effectivePhase(AtomicReference<PhaseController> controller, String migration) {
		return () -> {
			PhaseController current = controller.get();
			return (current != null) ? current.status(migration).effective() : Phase.EXPAND;
		};
	}

	private void write(int owner, int writers) {
		ThreadLocalRandom random = ThreadLocalRandom.current();
		long nextInsert = 2 * this.rows + 1_000 + owner;
		long pauseNanos = 1_000_000_000L * writers / this.operationsPerSecond;
		try (Connection connection = this.connections.open()) {
			connection.setAutoCommit(false);
			long next = System.nanoTime();
			while (this.writing.get()) {
				int choice = random.nextInt(100);
				long id;
				if (choice < 30) {
					// an app-chosen key below the bound, in a gap or on an existing row
					id = owned(random.nextLong(1, 2 * this.rows), owner, writers);
				}
				else if (choice < 45) {
					id = nextInsert;
					nextInsert += writers;
				}
				else {
					id = owned(random.nextLong(1, 2 * this.rows), owner, writers);
				}
				String street = "street " + id + "-" + random.nextInt(1_000_000);
				String city = (random.nextInt(10) == 0) ? null : "city " + random.nextInt(1000);
				Phase phase = this.phase.get();
				boolean newFirst = phase.readsNew();
				boolean oldOnly = this.oldOnlyAtExpand && phase == Phase.EXPAND;
				try {
					if (choice < 45) {
						if (insert(connection, id, street, city, newFirst, oldOnly)) {
							this.inserts.incrementAndGet();
							commit(connection, id, street + "|" + city);
						}
						else {
							connection.rollback();
						}
					}
					else if (choice < 88) {
						if (update(connection, id, street, city, newFirst, oldOnly)) {
							this.updates.incrementAndGet();
							commit(connection, id, street + "|" + city);
						}
						else {
							connection.rollback();
						}
					}
					else {
						delete(connection, id, newFirst, oldOnly);
						this.deletes.incrementAndGet();
						commit(connection, id, "");
					}
				}
				catch (SQLException ex) {
					connection.rollback();
					throw ex;
				}
				next += pauseNanos;
				long sleep = next - System.nanoTime();
				if (sleep > 0) {
					Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
				}
			}
		}
		catch (Throwable ex) {
			this.failure.compareAndSet(null, ex);
		}
	}

	private void commit(Connection connection, long id, String value) throws SQLException {
		connection.commit();
		this.acknowledged.put(id, value);
	}

	private boolean insert(Connection connection, long id, String street, @Nullable String city, boolean newFirst,
			boolean oldOnly) throws SQLException {
		if (this.tenants && !this.crossTable && !oldOnly) {
			return execute(connection,
					"INSERT INTO " + this.table + " (tenant, id, street, city, street_new, city_new) " + "SELECT "
							+ TENANT + ", id, ?, ?, ?, upper(?) FROM (SELECT ?::bigint AS id) AS v "
							+ "ON CONFLICT DO NOTHING",
					street, city, street, city, id) == 1;
		}
		String old = this.tenants
				? "INSERT INTO " + this.table + " (tenant, id, street, city) SELECT " + TENANT
						+ ", id, ?, ? FROM (SELECT ?::bigint AS id) AS v ON CONFLICT DO NOTHING"
				: "INSERT INTO " + this.table + " (id, street, city) VALUES (?, ?, ?) ON CONFLICT DO NOTHING";
		Object[] values = this.tenants ? new Object[] { street, city, id } : new Object[] { id, street, city };
		if (oldOnly) {
			return execute(connection, old, values) == 1;
		}
		if (!this.crossTable) {
			return execute(connection,
					"INSERT INTO " + this.table + " (id, street, city, street_new, city_new) "
							+ "VALUES (?, ?, ?, ?, upper(?)) ON CONFLICT DO NOTHING",
					id, street, city, street, city) == 1;
		}
		// the same values in the same order as the old side's insert
		String upsertNew = this.tenants
				? "INSERT INTO " + this.table + "_addresses (tenant, order_id, street, city) SELECT " + TENANT
						+ ", id, ?, upper(?) FROM (SELECT ?::bigint AS id) AS v ON CONFLICT (tenant, order_id) "
						+ "DO UPDATE SET street = EXCLUDED.street, city = EXCLUDED.city"
				: "INSERT INTO " + this.table + "_addresses (order_id, street, city) VALUES (?, ?, upper(?)) "
						+ "ON CONFLICT (order_id) DO UPDATE SET street = EXCLUDED.street, city = EXCLUDED.city";
		if (newFirst) {
			execute(connection, upsertNew, values);
			return execute(connection, old, values) == 1;
		}
		return execute(connection, old, values) == 1 && execute(connection, upsertNew, values) == 1;
	}

	private boolean update(Connection connection, long id, String street, @Nullable String city, boolean newFirst,
			boolean oldOnly) throws SQLException {
		String old = "UPDATE " + this.table + " SET street = ?, city = ? WHERE " + row();
		Object[] oldValues = withKey(id, street, city);
		if (oldOnly) {
			return execute(connection, old, oldValues) == 1;
		}
		if (!this.crossTable) {
			return execute(connection, "UPDATE " + this.table + " SET street = ?, city = ?, street_new = ?, "
					+ "city_new = upper(?) WHERE " + row(), withKey(id, street, city, street, city)) == 1;
		}
		// the new side's write is an upsert: the backfill may not have copied the row yet
		String upsertNew = this.tenants
				? "INSERT INTO " + this.table + "_addresses (tenant, order_id, street, city) SELECT " + TENANT
						+ ", id, ?, upper(?) FROM (SELECT ?::bigint AS id) AS v WHERE EXISTS (SELECT 1 FROM "
						+ this.table + " WHERE " + row() + ") ON CONFLICT (tenant, order_id) "
						+ "DO UPDATE SET street = EXCLUDED.street, city = EXCLUDED.city"
				: "INSERT INTO " + this.table + "_addresses (order_id, street, city) "
						+ "SELECT ?, ?, upper(?) WHERE EXISTS (SELECT 1 FROM " + this.table + " WHERE id = ?) "
						+ "ON CONFLICT (order_id) DO UPDATE SET street = EXCLUDED.street, city = EXCLUDED.city";
		Object[] newValues = this.tenants ? withKey(id, street, city, id) : new Object[] { id, street, city, id };
		if (newFirst) {
			execute(connection, upsertNew, newValues);
			return execute(connection, old, oldValues) == 1;
		}
		return execute(connection, old, oldValues) == 1 && execute(connection, upsertNew, newValues) == 1;
	}

	private void delete(Connection connection, long id, boolean newFirst, boolean oldOnly) throws SQLException {
		String old = "DELETE FROM " + this.table + " WHERE " + row();
		if (!this.crossTable || oldOnly) {
			execute(connection, old, withKey(id));
			return;
		}
		String deleteNew = "DELETE FROM " + this.table + "_addresses WHERE " + row().replace("id = ?", "order_id = ?");
		execute(connection, newFirst ? deleteNew : old, withKey(id));
		execute(connection, newFirst ? old : deleteNew, withKey(id));
	}

	/** The condition that names a same-table row: by tenant and id, or by id. */
	private String row() {
		return this.tenants ? "tenant = " + TENANT.replace("id", "CAST(? AS bigint)") + " AND id = ?" : "id = ?";
	}

	/** The values of a statement followed by those of {@link #row()} for an id. */
	private Object[] withKey(long id, Object... values) {
		Object[] all = Arrays.copyOf(values, values.length + (this.tenants ? 2 : 1));
		all[values.length] = id;
		if (this.tenants) {
			all[values.length + 1] = id;
		}
		return all;
	}

	private static int execute(Connection connection, String sql, Object... values) throws SQLException {
		try (PreparedStatement statement = connection.prepareStatement(sql)) {
			for (int i = 0; i < values.length; i++) {
				statement.setObject(i + 1, values[i]);
			}
			return statement.executeUpdate();
		}
	}

	private static long owned(long id, int owner, int writers) {
		return id - (id % writers) + owner;
	}

	/** Keys whose two sides disagree, counting missing and extra rows on the new side. */
	public static long disagreeing(PostgresExtension postgres, String table, boolean crossTable) {
		return disagreeing(postgres.dataSource(), table, crossTable);
	}

	/** Keys whose two sides disagree in another database. */
	public static long disagreeing(DataSource dataSource, String table, boolean crossTable) {
		String sql = crossTable
				? "SELECT count(*) FROM " + table + " o FULL JOIN " + table
						+ "_addresses a ON a.order_id = o.id WHERE o.id IS NULL OR a.order_id IS NULL "
						+ "OR ROW(a.street, a.city) IS DISTINCT FROM ROW(o.street, upper(o.city))"
				: "SELECT count(*) FROM " + table
						+ " WHERE ROW(street_new, city_new) IS DISTINCT FROM ROW(street, upper(city))";
		return new JdbcTemplate(dataSource).queryForObject(sql, Long.class);
	}

	/**
	 * Keys whose acknowledged last write is not what the old side holds: lost writes or
	 * resurrected rows.
	 */
	public long lostWrites() {
		Map<Long, String> stored = new ConcurrentHashMap<>();
		this.jdbc.query("SELECT id, street, city FROM " + this.table, (rs) -> {
			stored.put(rs.getLong(1), rs.getString(2) + "|" + rs.getString(3));
		});
		return this.acknowledged.entrySet()
			.stream()
			.filter((entry) -> entry.getValue().isEmpty() ? stored.containsKey(entry.getKey())
					: !entry.getValue().equals(stored.get(entry.getKey())))
			.count();
	}

	/** Where each writer gets the connection it holds. */
	private interface Connections {

		Connection open() throws SQLException;

	}

}
