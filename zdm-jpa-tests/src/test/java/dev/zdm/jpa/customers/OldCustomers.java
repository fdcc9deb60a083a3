package dev.zdm.jpa.customers;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.stereotype.Component;

import dev.zdm.dualwrite.Schema;
import dev.zdm.dualwrite.ZdmRepository;

/**
 * Customers on the old shape, through a Spring Data JPA repository.
 */
@Component
@ZdmRepository(migration = "customers-email", schema = Schema.OLD)
public class OldCustomers implements CustomerRepository {

	private final OldCustomerEntities entities;

	OldCustomers(OldCustomerEntities entities) {
		this.entities = entities;
	}

	@Override
	public Customer create(String name, String email, long balanceCents) {
		return this.entities.save(new OldCustomerEntity(name, email, balance(balanceCents))).toCustomer();
	}

	@Override
	public List<Customer> createAll(List<Draft> drafts) {
		List<OldCustomerEntity> created = drafts.stream()
			.map((draft) -> new OldCustomerEntity(draft.name(), draft.email(), balance(draft.balanceCents())))
			.toList();
		return this.entities.saveAll(created).stream().map(OldCustomerEntity::toCustomer).toList();
	}

	@Override
	public Optional<Customer> findById(long id) {
		return this.entities.findById(id).map(OldCustomerEntity::toCustomer);
	}

	@Override
	public Optional<Customer> findByEmail(String email) {
		return this.entities.findByEmail(email).map(OldCustomerEntity::toCustomer);
	}

	@Override
	public Customer update(long id, long version, String email, long balanceCents) {
		OldCustomerEntity customer = this.entities.findById(id)
			.filter((candidate) -> candidate.getVersion() == version)
			.orElseThrow(() -> new ObjectOptimisticLockingFailureException(OldCustomerEntity.class, id));
		customer.setEmail(email);
		customer.setBalance(balance(balanceCents));
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

	private static BigDecimal balance(long cents) {
		return BigDecimal.valueOf(cents, 2);
	}

}
