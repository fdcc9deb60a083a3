package dev.zdm.testkit;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
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
