package dev.zdm.jpa.customers;

import java.util.List;
import java.util.Optional;

/**
 * The service's access to customers, implemented once per schema shape and routed by zdm.
 */
public interface CustomerRepository {

	Customer create(String name, String email, long balanceCents);

	/**
	 * Create several customers in one transaction: Hibernate batches the inserts.
	 * @param drafts the customers to create
	 * @return the created customers
	 */
	List<Customer> createAll(List<Draft> drafts);

	Optional<Customer> findById(long id);

	Optional<Customer> findByEmail(String email);

	/**
	 * Change the e-mail address and balance of a customer last read at {@code version}.
	 * @param id the key
	 * @param version the version the caller read
	 * @param email the new e-mail address
	 * @param balanceCents the new balance
	 * @return the customer as written, with its new version
	 * @throws org.springframework.orm.ObjectOptimisticLockingFailureException if the
	 * customer changed since
	 */
	Customer update(long id, long version, String email, long balanceCents);

	void updateName(long id, String name);

	void deleteById(long id);

	/**
	 * A customer to create.
	 *
	 * @param name the name
	 * @param email the e-mail address
	 * @param balanceCents the balance, in cents
	 */
	record Draft(String name, String email, long balanceCents) {

	}

}
