package dev.zdm.parcels;

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
 * The parcel service's API, on {@link ParcelRepository}, which zdm routes.
 */
@RestController
@RequestMapping("/parcels")
class ParcelController {

	private final ParcelRepository parcels;

	ParcelController(ParcelRepository parcels) {
		this.parcels = parcels;
	}

	@PostMapping
	ResponseEntity<Parcel> create(@RequestBody RecipientChange parcel) {
		return ResponseEntity.status(HttpStatus.CREATED).body(this.parcels.create(parcel.recipient()));
	}

	@GetMapping("/{id}")
	ResponseEntity<Parcel> get(@PathVariable long id) {
		return ResponseEntity.of(this.parcels.findById(id));
	}

	@PutMapping("/{id}/recipient")
	ResponseEntity<Void> updateRecipient(@PathVariable long id, @RequestBody RecipientChange change) {
		return this.parcels.updateRecipient(id, change.recipient()) ? ResponseEntity.noContent().build()
				: ResponseEntity.notFound().build();
	}

	@DeleteMapping("/{id}")
	ResponseEntity<Void> delete(@PathVariable long id) {
		return this.parcels.deleteById(id) ? ResponseEntity.noContent().build() : ResponseEntity.notFound().build();
	}

	record RecipientChange(String recipient) {
	}

}
