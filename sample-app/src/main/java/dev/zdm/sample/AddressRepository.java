package dev.zdm.sample;

import java.util.Optional;

/**
 * Customer addresses. Two implementations exist while the {@code customers-address}
 * migration runs: one on the old columns {@code customers.address_street} and
 * {@code customers.address_city}, one on the new table {@code customer_addresses}; zdm
 * routes each call by phase and, from {@code dual-write} until the contract DDL has run,
 * calls both in the same transaction.
 */
public interface AddressRepository {

	/**
	 * Return a customer's address.
	 * @param customerId the customer
	 * @return the address, empty if the customer has none or does not exist
	 */
	Optional<Address> findByCustomerId(long customerId);

	/**
	 * Set a customer's address.
	 * @param customerId the customer
	 * @param address the address
	 * @return {@code false} if the customer does not exist
	 */
	boolean save(long customerId, Address address);

}
