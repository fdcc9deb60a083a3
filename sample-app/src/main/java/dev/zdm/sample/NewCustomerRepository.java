package dev.zdm.sample;

import java.util.Locale;
import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Customers on the new schema: the e-mail address in {@code customers.email_address},
 * lower-cased.
 */
@Repository
@ZdmRepository(migration = "customers-email", schema = Schema.NEW)
class NewCustomerRepository implements CustomerRepository {

	private final JdbcClient jdbc;

	NewCustomerRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public Customer create(String name, String email) {
		return this.jdbc
			.sql("INSERT INTO customers (name, email_address) VALUES (:name, :email) "
					+ "RETURNING id, name, email_address AS email")
			.param("name", name)
			.param("email", normalize(email))
			.query(Customer.class)
			.single();
	}

	@Override
	public Optional<Customer> findById(long id) {
		return this.jdbc.sql("SELECT id, name, email_address AS email FROM customers WHERE id = :id")
			.param("id", id)
			.query(Customer.class)
			.optional();
	}

	@Override
	public long count() {
		return this.jdbc.sql("SELECT count(*) FROM customers").query(Long.class).single();
	}

	@Override
	public boolean updateEmail(long id, String email) {
		return this.jdbc.sql("UPDATE customers SET email_address = :email WHERE id = :id")
			.param("email", normalize(email))
			.param("id", id)
			.update() == 1;
	}

	@Override
	public boolean deleteById(long id) {
		return this.jdbc.sql("DELETE FROM customers WHERE id = :id").param("id", id).update() == 1;
	}

	private static String normalize(String email) {
		return email.toLowerCase(Locale.ROOT);
	}

}
