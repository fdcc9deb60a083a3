package dev.zdm.testkit.customers;

import java.util.Optional;

/**
 * Customers and their addresses, on the old or the new schema.
 */
public interface CustomerRepository {

	long create(String name, String street, String city);

	Optional<String> findCity(long id);

	boolean updateAddress(long id, String street, String city);

	boolean delete(long id);

}
