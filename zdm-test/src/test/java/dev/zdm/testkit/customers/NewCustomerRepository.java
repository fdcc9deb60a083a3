package dev.zdm.testkit.customers;

import java.util.Locale;
import java.util.Optional;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.DualWriteCall;
import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Customers on the new schema: the address in {@code customer_addresses}, the city
 * upper-cased. The customer row itself is shared: when the old side already wrote it, its
 * generated key is reused. With {@code customers.new-repository} set to
 * {@code wrong-value} its inserts write the customer's name as the street, and with
 * {@code forgets-delete} its deletes leave the address behind: bugs the walk must find.
 */
@Repository
@ZdmRepository(migration = "customers-address", schema = Schema.NEW)
@ConditionalOnProperty(name = "customers.new-repository", havingValue = "correct", matchIfMissing = true)
class NewCustomerRepository implements CustomerRepository {

	private final JdbcClient jdbc;

	NewCustomerRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public long create(String name, String street, String city) {
		long id = customer(name);
		insertAddress(id, street, normalize(city));
		return id;
	}

	long customer(String name) {
		DualWriteCall call = DualWriteCall.current();
		if (call != null && call.otherSideResult() instanceof Long id) {
			return id;
		}
		return this.jdbc.sql("INSERT INTO customers (name) VALUES (?) RETURNING id")
			.param(name)
			.query(Long.class)
			.single();
	}

	void insertAddress(long id, String street, String city) {
		this.jdbc.sql("INSERT INTO customer_addresses (customer_id, street, city) VALUES (?, ?, ?)")
			.params(id, street, city)
			.update();
	}

	@Override
	public Optional<String> findCity(long id) {
		return this.jdbc.sql("SELECT city FROM customer_addresses WHERE customer_id = ?")
			.param(id)
			.query(String.class)
			.optional();
	}

	@Override
	public boolean updateAddress(long id, String street, String city) {
		return this.jdbc.sql("UPDATE customer_addresses SET street = ?, city = ? WHERE customer_id = ?")
			.params(street, normalize(city), id)
			.update() == 1;
	}

	@Override
	public boolean delete(long id) {
		boolean address = deleteAddress(id);
		// the old side, written first, may have deleted the customer already
		boolean customer = this.jdbc.sql("DELETE FROM customers WHERE id = ?").param(id).update() == 1;
		return address || customer;
	}

	boolean deleteAddress(long id) {
		return this.jdbc.sql("DELETE FROM customer_addresses WHERE customer_id = ?").param(id).update() == 1;
	}

	static String normalize(String city) {
		return city.toUpperCase(Locale.ROOT);
	}

}
