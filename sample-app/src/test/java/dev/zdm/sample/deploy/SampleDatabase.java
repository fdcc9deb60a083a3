package dev.zdm.sample.deploy;

import org.flywaydb.core.Flyway;

import dev.zdm.test.PostgresExtension;

/**
 * The sample's schema on a test's database, as its own Flyway migrations make it, for a
 * test that starts the sample's instances on it.
 */
public final class SampleDatabase {

	private SampleDatabase() {
	}

	/**
	 * Migrate the test's database to the sample's schema and add customers, each with a
	 * mixed-case e-mail address.
	 * @param postgres the test's database
	 * @param customers how many customers to add
	 */
	public static void createCustomers(PostgresExtension postgres, int customers) {
		Flyway.configure().dataSource(postgres.dataSource()).locations("classpath:db/migration").load().migrate();
		postgres.jdbc()
			.update("INSERT INTO customers (name, email) SELECT 'customer ' || i, 'Customer.' || i || '@Example.com' "
					+ "FROM generate_series(1, ?) AS i", customers);
	}

}
