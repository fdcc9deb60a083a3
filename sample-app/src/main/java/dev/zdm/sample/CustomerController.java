package dev.zdm.sample;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The service's API. It knows nothing of the migrations: it uses
 * {@link CustomerRepository} and {@link AddressRepository}, which zdm routes.
 */
@RestController
@RequestMapping("/customers")
class CustomerController {

	private final CustomerRepository customers;

	private final AddressRepository addresses;

	private final TransactionTemplate transaction;

	CustomerController(CustomerRepository customers, AddressRepository addresses,
			PlatformTransactionManager transactionManager) {
		this.customers = customers;
		this.addresses = addresses;
		this.transaction = new TransactionTemplate(transactionManager);
	}

	@PostMapping
	ResponseEntity<Customer> create(@RequestBody NewCustomer customer) {
		Customer created = this.transaction.execute((status) -> {
			Customer inserted = this.customers.create(customer.name(), customer.email());
			// Every customer has an address row, empty when none was given: one source
			// row, one target row.
			this.addresses.save(inserted.id(), new Address(customer.street(), customer.city()));
			return inserted;
		});
		return ResponseEntity.status(HttpStatus.CREATED).body(created);
	}

	@GetMapping("/{id}")
	ResponseEntity<Customer> get(@PathVariable long id) {
		return ResponseEntity.of(this.customers.findById(id));
	}

	@GetMapping("/count")
	long count() {
		return this.customers.count();
	}

	@PutMapping("/{id}/email")
	ResponseEntity<Void> updateEmail(@PathVariable long id, @RequestBody EmailChange change) {
		return this.customers.updateEmail(id, change.email()) ? ResponseEntity.noContent().build()
				: ResponseEntity.notFound().build();
	}

	@GetMapping("/{id}/address")
	ResponseEntity<Address> getAddress(@PathVariable long id) {
		return ResponseEntity.of(this.addresses.findByCustomerId(id));
	}

	@PutMapping("/{id}/address")
	ResponseEntity<Void> updateAddress(@PathVariable long id, @RequestBody Address address) {
		return this.addresses.save(id, address) ? ResponseEntity.noContent().build()
				: ResponseEntity.notFound().build();
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable long id) {
		return this.customers.deleteById(id) ? ResponseEntity.noContent().build() : ResponseEntity.notFound().build();
	}

	record NewCustomer(String name, String email, @Nullable String street, @Nullable String city) {
	}

	record EmailChange(String email) {
	}

}
