package dev.zdm.testkit;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import dev.zdm.test.EmbeddedPostgresServer;
import dev.zdm.test.PostgresDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests for {@link ZdmDatabases}: how the kit chooses between Testcontainers and embedded
 * PostgreSQL.
 */
class ZdmDatabasesTests {

	@Test
	void withoutDockerAutoRunsOnEmbeddedPostgres() {
		String reason = ZdmDatabases.whyTestcontainersCannotRun();
		assumeTrue(reason != null, "Docker is available here");
		try (ZdmDatabase database = ZdmDatabases.create(PostgresSource.AUTO, ZdmDatabases.DEFAULT_IMAGE, "auto")) {
			assertThat(database.description()).isEqualTo("embedded PostgreSQL");
			assertThat(database.jdbc().queryForObject("SELECT 1", Integer.class)).isOne();
		}
	}

	@Test
	void withoutDockerTheTestcontainersPathIsSkippedWithTheReason() {
		String reason = ZdmDatabases.whyTestcontainersCannotRun();
		assumeTrue(reason != null, "Docker is available here");
		assertThatExceptionOfType(TestAbortedException.class)
			.isThrownBy(() -> ZdmDatabases.create(PostgresSource.TESTCONTAINERS, "postgres:17-alpine", "forced"))
			.withMessageContaining("Testcontainers PostgreSQL (postgres:17-alpine) skipped: " + reason)
			.withMessageContaining("Without Docker the kit runs on embedded PostgreSQL");
	}

	// a CI job's service database, or a server of the team's own: named by a URL, the
	// kit makes a database of its own there for each test, and drops it after
	@Test
	void aServerNamedByUrlHoldsEachTestsDatabaseInsteadOfTheEmbeddedOne() {
		PostgresDatabase server = EmbeddedPostgresServer.createDatabase("their_server");
		System.setProperty("zdm.test.postgres-url", server.url());
		System.setProperty("zdm.test.postgres-username", server.username());
		System.setProperty("zdm.test.postgres-password", server.password());
		try {
			String name;
			try (ZdmDatabase database = ZdmDatabases.create(PostgresSource.AUTO, ZdmDatabases.DEFAULT_IMAGE, "named")) {
				assertThat(database.description()).isEqualTo("PostgreSQL at " + server.url());
				name = database.jdbc().queryForObject("SELECT current_database()", String.class);
				assertThat(name).startsWith("zdm_named_");
				assertThat(databaseExists(server, name)).isTrue();
			}
			assertThat(databaseExists(server, name)).as("dropped once the test is done").isFalse();
			try (ZdmDatabase database = ZdmDatabases.create(PostgresSource.EMBEDDED, ZdmDatabases.DEFAULT_IMAGE,
					"embedded")) {
				assertThat(database.description()).as("no container asked for").startsWith("PostgreSQL at ");
			}
			System.setProperty("zdm.test.postgres-url", "jdbc:postgresql://localhost:5432");
			assertThatIllegalArgumentException()
				.isThrownBy(() -> ZdmDatabases.create(PostgresSource.AUTO, ZdmDatabases.DEFAULT_IMAGE, "bad"))
				.withMessageContaining("give the JDBC URL of a database on the server");
		}
		finally {
			System.clearProperty("zdm.test.postgres-url");
			System.clearProperty("zdm.test.postgres-username");
			System.clearProperty("zdm.test.postgres-password");
			server.drop();
		}
	}

	// two builds on one server, forks of one build, and databases a killed run left there
	// must not clash: each JVM names its databases with a token of its own
	@Test
	void databaseNamesKeepTheKitsPrefixAndCarryAToken() {
		String name = ZdmDatabases.databaseName("CustomerMigrationWalkTests.walksTheMigrationThroughEveryPhase");
		assertThat(name).matches("zdm_[a-z0-9_]{36}_[0-9a-z]+_[0-9]+");
		assertThat(name).contains("walksthemigrationthrougheveryphase");
		assertThat(ZdmDatabases.databaseName("x")).matches("zdm_x_[0-9a-z]+_[0-9]+").isNotEqualTo(name);
		assertThat(name.length()).isLessThanOrEqualTo(63);
	}

	private static boolean databaseExists(PostgresDatabase server, String name) {
		return Boolean.TRUE
			.equals(new JdbcTemplate(new DriverManagerDataSource(server.url(), server.username(), server.password()))
				.queryForObject("SELECT EXISTS (SELECT FROM pg_database WHERE datname = ?)", Boolean.class, name));
	}

	@Test
	void eachDatabaseIsEmptyAndOfItsOwn() {
		try (ZdmDatabase first = ZdmDatabases.create(PostgresSource.EMBEDDED, ZdmDatabases.DEFAULT_IMAGE, "first");
				ZdmDatabase second = ZdmDatabases.create(PostgresSource.EMBEDDED, ZdmDatabases.DEFAULT_IMAGE,
						"second")) {
			first.jdbc().execute("CREATE TABLE t (id int)");
			assertThat(second.jdbc()
				.queryForObject("SELECT count(*) FROM information_schema.tables WHERE table_name = 't'", Integer.class))
				.isZero();
		}
	}

}
