package dev.zdm.sample;

import java.util.Optional;

/**
 * Customer data access. Two implementations exist while the {@code customers-email}
 * migration runs: one on the old column {@code email}, one on the new column
 * {@code email_address}; zdm routes each call by phase.
 */
public interface CustomerRepository {

	Customer create(String name, String email);

	Optional<Customer> findById(long id);

	long count();

	boolean updateEmail(long id, String email);

	boolean deleteById(long id);

}
