package dev.zdm.sample;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Addresses on the old schema: two columns of {@code customers}. Remove this class, and
 * the old columns' use, once the {@code customers-address} contract DDL has run.
 */
@Repository
@ZdmRepository(migration = "customers-address", schema = Schema.OLD)
class OldAddressRepository implements AddressRepository {

	private final JdbcClient jdbc;

	OldAddressRepository(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@Override
	public Optional<Address> findByCustomerId(long customerId) {
		return this.jdbc
			.sql("SELECT address_street AS street, address_city AS city FROM customers "
					+ "WHERE id = :id AND (address_street IS NOT NULL OR address_city IS NOT NULL)")
			.param("id", customerId)
			.query(Address.class)
			.optional();
	}

	@Override
	public boolean save(long customerId, Address address) {
		return this.jdbc.sql("UPDATE customers SET address_street = :street, address_city = :city WHERE id = :id")
			.param("street", address.street())
			.param("city", address.city())
			.param("id", customerId)
			.update() == 1;
	}

}
