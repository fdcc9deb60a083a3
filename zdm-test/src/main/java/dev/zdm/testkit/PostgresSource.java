package dev.zdm.testkit;

/**
 * Where the test kit's PostgreSQL comes from.
 */
public enum PostgresSource {

	/**
	 * Testcontainers when it is on the classpath and Docker is available, else embedded
	 * PostgreSQL.
	 */
	AUTO,

	/**
	 * A Testcontainers PostgreSQL container; tests are skipped, with the reason, when
	 * Docker is not available.
	 */
	TESTCONTAINERS,

	/** An embedded PostgreSQL server started in the test JVM, without Docker. */
	EMBEDDED

}
