package dev.zdm.sample;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Addresses on the new schema: one row of {@code customer_addresses} per customer.
 */
@Repository
@ZdmRepository(migration = "customers-address", schema = Schema.NEW)
class NewAddressRepository implements AddressRepository {

	private final JdbcClient jdbc;

	NewAddressRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public Optional<Address> findByCustomerId(long customerId) {
		return this.jdbc
			.sql("SELECT street, city FROM customer_addresses "
					+ "WHERE customer_id = :id AND (street IS NOT NULL OR city IS NOT NULL)")
			.param("id", customerId)
			.query(Address.class)
			.optional();
	}

	@Override
	public boolean save(long customerId, Address address) {
		return this.jdbc
			.sql("INSERT INTO customer_addresses (customer_id, street, city) "
					+ "SELECT id, :street, :city FROM customers WHERE id = :id "
					+ "ON CONFLICT (customer_id) DO UPDATE SET street = excluded.street, city = excluded.city")
			.param("street", address.street())
			.param("city", address.city())
			.param("id", customerId)
			.update() == 1;
	}

}
