package dev.zdm.test;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests that the tests run against the PostgreSQL major version the build chose
 * ({@code -Ppg14}, {@code -Ppg18}).
 */
class EmbeddedPostgresVersionTests {

	@RegisterExtension
	static final PostgresExtension postgres = new PostgresExtension();

	@Test
	void serverIsTheMajorVersionTheBuildChose() {
		String binaries = System.getProperty("zdm.test.postgres-version");
		assertThat(binaries).as("zdm.test.postgres-version, set by the build").isNotBlank();
		Integer versionNumber = postgres.jdbc().queryForObject("SHOW server_version_num", Integer.class);
		assertThat(versionNumber / 10000).isEqualTo(Integer.parseInt(binaries.substring(0, binaries.indexOf('.'))));
		System.out.println(
				"Tests run against PostgreSQL " + postgres.jdbc().queryForObject("SHOW server_version", String.class));
	}

}
