package dev.zdm.jpa.customers;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/**
 * Another part of the service that maps {@code customers} in the old shape, with
 * full-column updates and no {@code @Version}: the mapping that can overwrite a write
 * made through the new shape in the same transaction.
 */
@Entity
@Table(name = "customers")
public class CustomerSummaryEntity {

	@Id
	private Long id;

	private String name;

	private String email;

	protected CustomerSummaryEntity() {
	}

	public String getEmail() {
		return this.email;
	}

	public void setName(String name) {
		this.name = name;
	}

}
