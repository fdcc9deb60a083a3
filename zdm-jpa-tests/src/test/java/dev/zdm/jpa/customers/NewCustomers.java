package dev.zdm.jpa.customers;

import java.util.List;
import java.util.Optional;

import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Customers on the new shape, through a Spring Data JPA repository.
 */
@Component
@ZdmRepository(migration = "customers-email", schema = Schema.NEW)
public class NewCustomers implements CustomerRepository {

	private final NewCustomerEntities entities;

	NewCustomers(NewCustomerEntities entities) {
		this.entities = entities;
	}

	@Override
	public Customer create(String name, String email, long balanceCents) {
		return this.entities.save(new NewCustomerEntity(name, email, balanceCents)).toCustomer();
	}

	@Override
	public List<Customer> createAll(List<Draft> drafts) {
		List<NewCustomerEntity> created = drafts.stream()
			.map((draft) -> new NewCustomerEntity(draft.name(), draft.email(), draft.balanceCents()))
			.toList();
		return this.entities.saveAll(created).stream().map(NewCustomerEntity::toCustomer).toList();
	}

	@Override
	public Optional<Customer> findById(long id) {
		return this.entities.findById(id).map(NewCustomerEntity::toCustomer);
	}

	@Override
	public Optional<Customer> findByEmail(String email) {
		return this.entities.findByEmailAddress(email).map(NewCustomerEntity::toCustomer);
	}

	@Override
	public Customer update(long id, long version, String email, long balanceCents) {
		NewCustomerEntity customer = this.entities.findById(id)
			.filter((candidate) -> candidate.getVersion() == version)
			.orElseThrow(() -> new ObjectOptimisticLockingFailureException(NewCustomerEntity.class, id));
		customer.setEmailAddress(email);
		customer.setBalanceCents(balanceCents);
		return this.entities.saveAndFlush(customer).toCustomer();
	}

	@Override
	public void updateName(long id, String name) {
		this.entities.findById(id).ifPresent((customer) -> customer.setName(name));
	}

	@Override
	public void deleteById(long id) {
		this.entities.deleteById(id);
	}

}
