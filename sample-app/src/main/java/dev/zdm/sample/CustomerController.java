package dev.zdm.sample;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The service's API. It knows nothing of the migration: it uses {@link CustomerRepository}, which zdm routes.
 */
@RestController
@RequestMapping("/customers")
class CustomerController {

	private final CustomerRepository customers;

	CustomerController(CustomerRepository customers) {
		this.customers = customers;
	}

	@PostMapping
	ResponseEntity<Customer> create(@RequestBody NewCustomer customer) {
		return ResponseEntity.status(HttpStatus.CREATED).body(this.customers.create(customer.name(), customer.email()));
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

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable long id) {
		return this.customers.deleteById(id) ? ResponseEntity.noContent().build() : ResponseEntity.notFound().build();
	}

	record NewCustomer(String name, String email) {
	}

	record EmailChange(String email) {
	}

}
