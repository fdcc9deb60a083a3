package dev.zdm.testkit.customers;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Customers on the old schema: the address in {@code customers.address_street} and
 * {@code address_city}.
 */
@Repository
@ZdmRepository(migration = "customers-address", schema = Schema.OLD)
class OldCustomerRepository implements CustomerRepository {

	private final JdbcClient jdbc;

	OldCustomerRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public long create(String name, String street, String city) {
		return this.jdbc.sql("INSERT INTO customers (name, address_street, address_city) VALUES (?, ?, ?) RETURNING id")
			.params(name, street, city)
			.query(Long.class)
			.single();
	}

	@Override
	public Optional<String> findCity(long id) {
		return this.jdbc.sql("SELECT address_city FROM customers WHERE id = ?")
			.param(id)
			.query(String.class)
			.optional();
	}

	@Override
	public boolean updateAddress(long id, String street, String city) {
		return this.jdbc.sql("UPDATE customers SET address_street = ?, address_city = ? WHERE id = ?")
			.params(street, city, id)
			.update() == 1;
	}

	@Override
	public boolean delete(long id) {
		return this.jdbc.sql("DELETE FROM customers WHERE id = ?").param(id).update() == 1;
	}

}
