package dev.zdm.internal.catalog;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import dev.zdm.migration.TableName;
import dev.zdm.test.PostgresExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for {@link DatabaseCatalog}.
 */
@Isolated
@ExtendWith(OutputCaptureExtension.class)
class DatabaseCatalogTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	private static DatabaseCatalog catalog;

	@BeforeAll
	static void createTables() {
		postgres.jdbc().execute("CREATE SCHEMA other");
		postgres.jdbc().execute("CREATE TABLE users (id bigint PRIMARY KEY, email text, \"Name\" text)");
		postgres.jdbc().execute("CREATE TABLE other.pairs (a int, b int, note text, PRIMARY KEY (b, a))");
		catalog = new DatabaseCatalog(postgres.dataSource());
	}

	@Test
	void findsTableOnSearchPath() {
		assertThat(catalog.findSchema(TableName.parse("users"))).contains("public");
		assertThat(catalog.findSchema(TableName.parse("pairs"))).isEmpty();
		assertThat(catalog.findSchema(TableName.parse("other.pairs"))).contains("other");
	}

	@Test
	void readsColumnsAndPrimaryKeyInOrder() {
		assertThat(catalog.columns(TableName.parse("public.users"))).containsExactly(
				org.assertj.core.api.Assertions.entry("id", "bigint"),
				org.assertj.core.api.Assertions.entry("email", "text"),
				org.assertj.core.api.Assertions.entry("Name", "text"));
		assertThat(catalog.primaryKey(TableName.parse("other.pairs"))).containsExactly("b", "a");
	}

	@Test
	void expressionCheckRetriesWithAShortLockTimeoutWhileAnotherSessionLocksTheTable(CapturedOutput output)
			throws Exception {
		DatabaseCatalog checking = new DatabaseCatalog(postgres.newDataSource("catalog-check", 2));
		try (Connection blocker = postgres.database().newConnection()) {
			blocker.setAutoCommit(false);
			try (Statement statement = blocker.createStatement()) {
				statement.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
			}
			CompletableFuture<String> check = CompletableFuture.supplyAsync(
					() -> String.valueOf(checking.checkExpression(TableName.parse("public.users"), "lower(email)")));
			// each attempt of the check waits for the lock once: keep the table locked
			// through three of them
			Set<Object> lockWaits = new HashSet<>();
			double[] longestWaitSeconds = new double[1];
			await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
				postgres.jdbc()
					.query("SELECT l.waitstart, extract(epoch FROM now() - l.waitstart) FROM pg_locks l "
							+ "JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted "
							+ "AND a.application_name = 'catalog-check' AND l.waitstart IS NOT NULL", (rs) -> {
								lockWaits.add(rs.getObject(1));
								longestWaitSeconds[0] = Math.max(longestWaitSeconds[0], rs.getDouble(2));
							});
				return lockWaits.size() >= 3;
			});
			assertThat(check).as("the check waits while the table stays locked").isNotDone();
			blocker.rollback();
			assertThat(check.get(10, TimeUnit.SECONDS)).isEqualTo("null");
			assertThat(longestWaitSeconds[0])
				.as("longest single lock wait of the check, in seconds (lock_timeout 200 ms)")
				.isPositive()
				.isLessThan(0.7);
		}
		// said once, not at each try
		assertThat(output.getAll().split("checking an expression on public.users waits for a lock", -1)).hasSize(2);
	}

	@Test
	void readsGeneratedColumnsAndRefusesAnExpressionThatReadsOne() {
		postgres.jdbc()
			.execute("CREATE TABLE posts (id bigint PRIMARY KEY, body text, "
					+ "body_len int GENERATED ALWAYS AS (length(body)) STORED)");
		TableName posts = TableName.parse("public.posts");
		assertThat(catalog.generatedColumns(posts))
			.containsExactly(org.assertj.core.api.Assertions.entry("body_len", "length(body)"));
		assertThat(catalog.generatedColumns(TableName.parse("public.users"))).isEmpty();
		// a BEFORE trigger reads a generated column as NULL: the check sees it as
		// PostgreSQL's own generated columns do
		assertThat(catalog.checkDeterministic(posts, "body_len + 1"))
			.contains("cannot use generated column \"body_len\"");
		assertThat(catalog.checkDeterministic(posts, "length(body) + 1")).isNull();
		// read as stored, by a backfill and repositories that write the other side (a
		// cross-table migration, sync: application), it may be read
		assertThat(catalog.checkDeterministic(posts, "body_len + 1", false)).isNull();
	}

	@Test
	void checksExpressionsWithoutRunningThem() {
		TableName users = TableName.parse("public.users");
		assertThat(catalog.checkExpression(users, "lower(email)")).isNull();
		assertThat(catalog.checkExpression(users, "lower(emial)")).contains("emial").contains("does not exist");
		assertThat(catalog.checkExpression(users, "lower(email); DROP TABLE users")).contains("';'");
		assertThat(catalog.checkExpression(users, "1) FROM users --")).contains("without a matching");
	}

}
